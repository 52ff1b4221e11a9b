import ArgumentParser
import HearsayCore
import HearsayNode
import HearsayWire
import Logging
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// `hearsay demo`: three agents on loopback in one process, some metadata written, and
/// where to look.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start three nodes on loopback, write some metadata, and print where to look.",
        discussion: """
            Node i (1 to 3) gossips on 127.0.0.1:<base-port + 10(i-1)> and serves HTTP one port \
            above. The cluster key is generated for the run. Ctrl-C makes every node leave \
            gracefully.
            """)

    @Option(help: "first gossip port; the nodes use base, base+10, base+20 (HTTP one above each)")
    var basePort: Int = 7946
    @Option(help: "stop after this many seconds instead of waiting for Ctrl-C (0 waits)")
    var seconds: Int = 0
    @Option(help: "log lines as text or json") var logFormat: String = "text"

    func run() async throws {
        guard (1024...65_000).contains(basePort) else { throw ValidationError("--base-port must be 1024 to 65000") }
        guard let format = LogFormat(rawValue: logFormat) else { throw ValidationError("--log-format: text or json") }
        LoggingSystem.bootstrap { LineLogHandler(label: $0, format: format, level: .info) }
        let key = Keyring.generateKey()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var nodes: [Node] = []
        var httpAddresses: [HostPort] = []
        for index in 0..<3 {
            var settings = NodeSettings()
            settings.name = NodeID(unchecked: "demo-\(index + 1)")
            settings.bind = HostPort(host: "127.0.0.1", port: basePort + 10 * index)
            settings.http = HostPort(host: "127.0.0.1", port: basePort + 10 * index + 1)
            settings.key = key
            settings.gossipInterval = .seconds(5)
            settings.joinRetryInterval = .seconds(1)
            settings.logFormat = format
            if index > 0 { settings.join = [HostPort(host: "127.0.0.1", port: basePort)] }
            httpAddresses.append(settings.http)
            nodes.append(try Node(settings: settings, eventLoop: group.next(), logger: Logger(label: "hearsay")))
        }
        let signals = ShutdownSignals()
        for node in nodes { try await node.start() }
        let running = nodes
        let leaveAll: @Sendable () async -> Void = {
            await withDiscardingTaskGroup { group in
                for node in running { group.addTask { await node.leave() } }
            }
        }
        let requests = signals.requests
        let leaving = Task {
            for await _ in requests { await leaveAll() }
        }
        let clients = httpAddresses.map { APIClient(address: $0) }
        try await showCluster(clients)
        if seconds > 0 {
            try await Task.sleep(for: .seconds(seconds))
            await leaveAll()
        }
        for node in nodes { await node.waitUntilFinished() }
        leaving.cancel()
        withExtendedLifetime(signals) {}
        try? await group.shutdownGracefully()
    }

    private func showCluster(_ clients: [APIClient]) async throws {
        // Wait until every node lists three alive members.
        for _ in 0..<300 {
            let counts = clients.map { client in
                (try? client.request("GET", "/v1/members"))?.text.components("\"alive\"") ?? 0
            }
            if counts.allSatisfy({ $0 == 3 }) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let writes: [(String, JSONValue)] = [
            ("services/web", .object(["replicas": .number(3), "image": .string("web:1.4.2")])),
            ("config/feature-flags", .object(["new_checkout": .bool(true)])),
            ("owners/team-data", .string("data@example.com")),
        ]
        for (address, value) in writes {
            _ = try? clients[0].request(
                "PUT", "/v1/metadata/" + PercentEncoding.encode(address),
                body: Array(JSONValue.object(["value": value]).canonicalText.utf8))
        }
        for _ in 0..<100 {
            if let text = try? clients[2].request("GET", "/v1/metadata").text, text.components("\"address\"") == 3 {
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let ports = clients.map(\.address.port)
        print(
            """

            Hearsay demo: three nodes on loopback, one cluster, three entries written on demo-1.
              demo-1  gossip 127.0.0.1:\(basePort)  API http://127.0.0.1:\(ports[0])
              demo-2  gossip 127.0.0.1:\(basePort + 10)  API http://127.0.0.1:\(ports[1])
              demo-3  gossip 127.0.0.1:\(basePort + 20)  API http://127.0.0.1:\(ports[2])

            Look at it:
              curl -s http://127.0.0.1:\(ports[1])/v1/members
              curl -s http://127.0.0.1:\(ports[2])/v1/metadata
              curl -s http://127.0.0.1:\(ports[0])/metrics | grep '^hearsay_members'
              hearsay members --http-addr 127.0.0.1:\(ports[2])
              hearsay put  --http-addr 127.0.0.1:\(ports[1]) services/api '{"replicas": 2}'
              hearsay list --http-addr 127.0.0.1:\(ports[0])
              hearsay watch --http-addr 127.0.0.1:\(ports[2])   (then put from another terminal)
            Ctrl-C makes every node leave gracefully.

            """)
        // Standard output to a pipe or file is block-buffered, and the demo then idles
        // until Ctrl-C: without a flush the text would never appear (`make run | tee`).
        fflush(nil)
    }
}

extension String {
    /// How many times `needle` occurs.
    fileprivate func components(_ needle: String) -> Int {
        var count = 0
        var rest = self[...]
        while let range = rest.firstRange(of: needle) {
            count += 1
            rest = rest[range.upperBound...]
        }
        return count
    }
}
