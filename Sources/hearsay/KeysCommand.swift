import ArgumentParser
import HearsayCore
import HearsayNode

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "List, install, use or remove cluster keys on every member (or on one agent, with --local).",
        discussion: """
            The agent asks every member but those that left, over the gossip port, and reports who did it, who \
            refused and who did not answer; the command exits 1 unless every member known did it. \
            Rotation: install the new key, use it, then remove the old one. remove refuses while a \
            member that may lack the new key is known (one that is down keeps only the old key: \
            once it is back, install and use again, then remove); --force removes anyway. Changes \
            are written back to each agent's keyring file when it has one.
            """)
    @OptionGroup var options: ClientOptions
    @Argument(help: "list, install, use or remove") var operation: String = "list"
    @Argument(help: "the base64 key (for install, use, remove)") var key: String?
    @Flag(help: "this agent only") var local = false
    @Flag(help: "remove even when members may lack the new key (they are cut off)") var force = false
    @Flag(help: "print the API's JSON instead of a summary") var json = false

    func run() throws {
        let scope = local ? "scope=local" : "scope=cluster"
        let response: APIClient.Response
        switch operation {
        case "list":
            response = try options.call("GET", "/v1/keys?" + scope)
        case "install", "use", "remove":
            guard let key else { throw ValidationError("keys \(operation) needs a base64 key") }
            let body = JSONValue.object(["key": .string(key)])
            let query = scope + (force && operation == "remove" ? "&force=true" : "")
            response = try options.call("POST", "/v1/keys/\(operation)?" + query, body: body)
        default:
            throw ValidationError("unknown keys operation '\(operation)': list, install, use or remove")
        }
        guard !json, !local, case .object(let report)? = response.json else {
            print(response.text, terminator: "")
            return
        }
        print(Self.summary(report), terminator: "")
        if report["complete"] != .bool(true) { throw ExitCode(1) }
    }

    /// `N of M members answered`, the failures one a line, and who holds which key.
    static func summary(_ report: [String: JSONValue]) -> String {
        func number(_ key: String) -> Int {
            if case .number(let n)? = report[key] { Int(n) } else { 0 }
        }
        // Names and reasons come from other members: no control character of theirs
        // reaches the terminal.
        func printable(_ text: String) -> String {
            String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.properties.generalCategory != .control }))
        }
        func pairs(_ key: String) -> [(String, String)] {
            guard case .object(let map)? = report[key] else { return [] }
            return map.sorted { $0.key < $1.key }.map { pair in
                let value: String
                if case .string(let text) = pair.value { value = text } else { value = pair.value.canonicalText }
                return (printable(pair.key), printable(value))
            }
        }
        var text = "\(number("answered")) of \(number("members")) members answered\n"
        for (member, why) in pairs("refused") { text += "refused by \(member): \(why)\n" }
        for (member, why) in pairs("not_answered") { text += "not done by \(member): \(why)\n" }
        let primaries = Dictionary(uniqueKeysWithValues: pairs("primary"))
        for (key, count) in pairs("keys") {
            text += "key \(key): held by \(count)" + (primaries[key].map { ", primary on \($0)" } ?? "") + "\n"
        }
        return text
    }
}
