import ArgumentParser
import HearsayCore
import HearsayNode

#if canImport(Glibc)
    import Glibc
#endif

/// `hearsay watch`: the agent's event stream, for people (one line an event) or scripts
/// (`--json`, the stream's own lines). Reconnects after the agent closes the stream, from
/// the last event it printed, until interrupted.
struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print member and metadata changes as they happen (GET /v1/events).")
    @OptionGroup var options: ClientOptions
    @Option(help: "only metadata events under this address prefix (member events unless --metadata)")
    var prefix: String?
    @Flag(help: "only member events") var members = false
    @Flag(help: "only metadata events") var metadata = false
    @Option(help: "event types, comma-separated (docs/api.md lists them)") var types: String?
    @Option(help: "resume after the event with this index") var index: UInt64?
    @Flag(help: "print each event's JSON line as the API sends it") var json = false
    @Option(help: "stop after this many events (0: never)") var count: Int = 0

    func validate() throws {
        if members && metadata {
            throw ValidationError("--members and --metadata exclude each other; give neither for both")
        }
        if members && prefix != nil {
            throw ValidationError("--prefix filters metadata events: it does not go with --members")
        }
    }

    func run() throws {
        let client = try options.client
        var wanted = types
        if members { wanted = "member" }
        if metadata { wanted = "metadata" }
        var last = index
        var printed = 0
        var failures = 0
        while true {
            var query: [String] = []
            if let wanted { query.append("types=" + PercentEncoding.encode(wanted)) }
            if let prefix { query.append("prefix=" + PercentEncoding.encode(prefix)) }
            if let last { query.append("index=\(last)") }
            let path = "/v1/events" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
            var done = false
            do {
                try client.stream(path) { line in
                    failures = 0
                    guard let event = try? JSONValue.parse(line), case .object(let fields) = event else {
                        print(line)
                        return true
                    }
                    // Heartbeats only say the stream is alive.
                    if fields["type"] == .string("heartbeat") { return true }
                    if case .number(let n)? = fields["index"] { last = UInt64(n) }
                    print(json ? line : Self.text(fields))
                    fflush(nil)  // every stream: a pipe reader sees each event as it comes
                    printed += 1
                    if count > 0 && printed >= count {
                        done = true
                        return false
                    }
                    return true
                }
            } catch {
                // A request the agent refuses (a bad filter) is not retried.
                if let status = error.status, (400..<500).contains(status) {
                    printError("hearsay watch: \(error)")
                    throw ExitCode(1)
                }
                failures += 1
                printError("hearsay watch: \(error)")
                // An agent that never answers is an error; one that restarts is waited for.
                if failures >= 30 { throw ExitCode(1) }
            }
            if done { return }
            sleep(1)
        }
    }

    /// `time type subject details` for people.
    static func text(_ fields: [String: JSONValue]) -> String {
        func text(_ key: String) -> String? {
            switch fields[key] {
            case .string(let s)?: s
            case let value?: value.canonicalText
            case nil: nil
            }
        }
        let type = text("type") ?? "?"
        var parts = [text("time") ?? "-", type]
        if type.hasPrefix("member_") {
            parts.append(text("member") ?? "-")
            if let address = text("address") { parts.append(address) }
            if let previous = text("previous") { parts.append("was \(previous)") }
        } else if type.hasPrefix("metadata_") {
            parts.append(text("address") ?? "-")
            for key in ["origin", "version", "updated_by", "siblings"] {
                if let value = text(key) { parts.append("\(key)=\(value)") }
            }
            // The value as JSON: a string stays quoted, apart from a number.
            if let value = fields["value"] { parts.append("value=\(value.canonicalText)") }
        } else if let reason = text("reason") {
            parts.append(reason)
        }
        return parts.joined(separator: " ")
    }
}
