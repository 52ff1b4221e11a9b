import ArgumentParser
import HearsayCore
import HearsayNode

/// Where a client command finds the agent.
struct ClientOptions: ParsableArguments {
    @Option(
        name: .customLong("http-addr"),
        help:
            "the agent's HTTP API (env HEARSAY_HTTP_ADDR; default: the port of HEARSAY_HTTP on this host, else 127.0.0.1:7947)"
    )
    var httpAddress: String?

    @Option(help: "bearer token for mutating calls (env HEARSAY_API_TOKEN)")
    var apiToken: String?

    var client: APIClient {
        get throws {
            let address: HostPort
            do {
                if let text = httpAddress ?? ProcessEnvironment.value("HEARSAY_HTTP_ADDR") {
                    address = try HostPort(parsing: text, defaultPort: 7947, setting: "--http-addr")
                } else {
                    address = try Self.localAgent()
                }
            } catch {
                throw ValidationError("\(error)")
            }
            return APIClient(address: address, token: apiToken ?? ProcessEnvironment.value("HEARSAY_API_TOKEN"))
        }
    }

    /// The agent configured in this environment: where `HEARSAY_HTTP` (the agent's own
    /// setting, as in a container's environment) listens, reached on loopback when it
    /// listens on every interface.
    private static func localAgent() throws(HearsayCore.ValidationError) -> HostPort {
        guard let text = ProcessEnvironment.value("HEARSAY_HTTP") else {
            return HostPort(host: "127.0.0.1", port: 7947)
        }
        let listen = try HostPort(parsing: text, defaultPort: 7947, setting: "HEARSAY_HTTP")
        guard IPAddressText.isUnspecified(listen.host) else { return listen }
        return HostPort(host: IPAddressText.isIPv6(listen.host) ? "::1" : "127.0.0.1", port: listen.port)
    }

    /// Sends a request; prints the error of a non-2xx answer and exits 1.
    func call(_ method: String, _ path: String, body: JSONValue? = nil) throws -> APIClient.Response {
        let response: APIClient.Response
        do {
            response = try client.request(method, path, body: body.map { Array($0.canonicalText.utf8) })
        } catch let failure as APIClient.Failure {
            printError("hearsay: \(failure)")
            throw ExitCode(1)
        }
        guard (200..<300).contains(response.status) else {
            if case .object(let fields)? = response.json, case .string(let message)? = fields["error"] {
                printError("hearsay: \(response.status): \(message)")
            } else {
                printError("hearsay: HTTP \(response.status): \(response.text)")
            }
            throw ExitCode(1)
        }
        return response
    }
}

/// The path of a metadata entry, with its address percent-encoded.
func metadataPath(_ address: String) -> String {
    "/v1/metadata/" + PercentEncoding.encode(address)
}

struct MembersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "members", abstract: "List the members an agent knows, with state and address.")
    @OptionGroup var options: ClientOptions
    @Option(help: "only members with this tag, KEY:VALUE or KEY (repeatable; all must match)") var tag: [String] = []
    @Flag(help: "print the API's JSON instead of a table") var json = false

    func run() throws {
        let query = tag.map { "tag=" + PercentEncoding.encode($0) }.joined(separator: "&")
        let response = try options.call("GET", "/v1/members" + (query.isEmpty ? "" : "?" + query))
        guard !json, case .object(let root)? = response.json, case .array(let members)? = root["members"] else {
            print(response.text, terminator: "")
            return
        }
        let rows = members.compactMap { member -> [String]? in
            guard case .object(let f) = member else { return nil }
            var row = ["name", "address", "state", "incarnation"].map { key in
                switch f[key] {
                case .string(let s)?: s
                case let value?: value.canonicalText
                case nil: "-"
                }
            }
            row.append(tagsText(f["tags"]))
            return row
        }
        printTable(["NAME", "ADDRESS", "STATE", "INCARNATION", "TAGS"], rows)
    }
}

struct GetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Print a metadata entry (every version, if it is in conflict).")
    @OptionGroup var options: ClientOptions
    @Argument(help: "the entry's address") var address: String

    func run() throws {
        print(try options.call("GET", metadataPath(address)).text, terminator: "")
    }
}

struct PutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put", abstract: "Write a metadata entry; answers once it is durable on the agent.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "the entry's address") var address: String
    @Argument(help: "the value, as JSON (a bare word is taken as a string)") var value: String
    @Option(help: "active or deprecated") var status: String = "active"
    @Option(help: "a role for the entry (repeatable)") var role: [String] = []

    func run() throws {
        let parsed = (try? JSONValue.parse(value)) ?? .string(value)
        let body = JSONValue.object([
            "value": parsed, "status": .string(status), "roles": .array(role.map(JSONValue.string)),
        ])
        print(try options.call("PUT", metadataPath(address), body: body).text, terminator: "")
    }
}

struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete a metadata entry (a tombstone that spreads like a write).")
    @OptionGroup var options: ClientOptions
    @Argument(help: "the entry's address") var address: String

    func run() throws {
        print(try options.call("DELETE", metadataPath(address)).text, terminator: "")
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List metadata entries, optionally under a prefix.")
    @OptionGroup var options: ClientOptions
    @Option(help: "only addresses that start with this") var prefix: String = ""
    @Flag(help: "print the API's JSON instead of a table") var json = false

    func run() throws {
        let response = try options.call("GET", "/v1/metadata?prefix=" + PercentEncoding.encode(prefix))
        guard !json, case .object(let root)? = response.json, case .array(let entries)? = root["entries"] else {
            print(response.text, terminator: "")
            return
        }
        let rows = entries.compactMap { entry -> [String]? in
            guard case .object(let f) = entry, case .string(let address)? = f["address"],
                case .array(let versions)? = f["versions"]
            else { return nil }
            let statuses = versions.compactMap { version -> String? in
                guard case .object(let v) = version, case .string(let s)? = v["status"] else { return nil }
                return s
            }
            let values = versions.compactMap { version -> String? in
                guard case .object(let v) = version else { return nil }
                return v["value"]?.canonicalText
            }
            return [
                address, versions.count > 1 ? "conflicted" : statuses.first ?? "-", values.joined(separator: " | "),
            ]
        }
        printTable(["ADDRESS", "STATUS", "VALUE"], rows)
    }
}

struct JoinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join", abstract: "Ask an agent to join a cluster through the given addresses.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "join seed addresses (host[:port]; names may resolve to several)") var addresses: [String]

    func run() throws {
        let body = JSONValue.object(["addresses": .array(addresses.map(JSONValue.string))])
        print(try options.call("POST", "/v1/join", body: body).text, terminator: "")
    }
}

struct LeaveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leave", abstract: "Ask an agent to leave the cluster gracefully and exit.")
    @OptionGroup var options: ClientOptions

    func run() throws {
        print(try options.call("POST", "/v1/leave").text, terminator: "")
    }
}

struct HealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Exit 0 when the agent is healthy (or ready, with --ready), 1 otherwise; for container health checks."
    )
    @OptionGroup var options: ClientOptions
    @Flag(help: "require readiness (joined and not leaving) instead of liveness") var ready = false

    func run() throws {
        let path = ready ? "/readyz" : "/healthz"
        do {
            let response = try options.client.request("GET", path)
            print(response.text, terminator: "")
            if response.status != 200 { throw ExitCode(1) }
        } catch let failure as APIClient.Failure {
            printError("hearsay: \(failure)")
            throw ExitCode(1)
        }
    }
}

/// Prints rows under a header, columns padded to their widest cell.
func printTable(_ header: [String], _ rows: [[String]]) {
    let all = [header] + rows
    let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
    for row in all {
        let cells = row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
        }
        print(cells.joined(separator: "  "))
    }
}
