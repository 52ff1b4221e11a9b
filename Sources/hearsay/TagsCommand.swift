import ArgumentParser
import HearsayCore
import HearsayNode

struct TagsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tags",
        abstract: "Show or change the tags an agent announces to the cluster.",
        discussion: """
            With no option, prints the agent's tags. --set and --delete change them in one call; the \
            change is written to tags.json in the agent's data directory before it spreads, so it \
            survives a restart (the agent's own --tag flags win over it at start).
            """)
    @OptionGroup var options: ClientOptions
    @Option(help: "KEY=VALUE to add or change (repeatable)") var set: [String] = []
    @Option(help: "KEY to remove (repeatable)") var delete: [String] = []
    @Flag(help: "print the API's JSON instead of KEY=VALUE lines") var json = false

    func run() throws {
        let response: APIClient.Response
        if set.isEmpty && delete.isEmpty {
            response = try options.call("GET", "/v1/tags")
        } else {
            var patch: [String: JSONValue] = [:]
            for key in delete { patch[key] = .null }
            for item in set {
                guard let equals = item.firstIndex(of: "=") else { throw ValidationError("--set \(item): KEY=VALUE") }
                let key = String(item[..<equals])
                guard patch[key] == nil else { throw ValidationError("--set \(item): \(key) is named twice") }
                patch[key] = .string(String(item[item.index(after: equals)...]))
            }
            response = try options.call("PATCH", "/v1/tags", body: .object(patch))
        }
        guard !json, case .object(let tags)? = response.json else {
            print(response.text, terminator: "")
            return
        }
        for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
            guard case .string(let text) = value else { continue }
            print("\(key)=\(text)")
        }
    }
}

/// A member's tags for a table cell: `key=value,key=value`, or `-`.
func tagsText(_ tags: JSONValue?) -> String {
    guard case .object(let pairs)? = tags, !pairs.isEmpty else { return "-" }
    return pairs.sorted { $0.key < $1.key }.map { pair in
        if case .string(let text) = pair.value { pair.key + "=" + text } else { pair.key }
    }.joined(separator: ",")
}
