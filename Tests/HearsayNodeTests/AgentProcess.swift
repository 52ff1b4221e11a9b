import Foundation
import HearsayCore
import HearsayNode
import Synchronization

/// The `hearsay` binary built beside the tests (`swift build --build-tests` builds it).
enum HearsayBinary {
    static var path: String {
        if let override = ProcessInfo.processInfo.environment["HEARSAY_BINARY"] { return override }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/hearsay").path
    }
}

/// Ports nothing listens on now, for UDP and TCP alike.
///
/// They are taken below the kernel's ephemeral range, so an outgoing connection (the
/// tests' own HTTP requests, the agents' TCP streams) cannot take one between the check
/// and the agent's bind; and one counter serves every suite in the process, so suites
/// running side by side never pick the same ports.
enum FreePorts {
    private static let next = Mutex(Int.random(in: 10_000..<(ephemeralStart - 10_000)))

    static func take(_ count: Int) -> [Int] {
        var ports: [Int] = []
        while ports.count < count {
            let candidate = next.withLock { port in
                port = port + 1 < ephemeralStart ? port + 1 : 10_000
                return port
            }
            if isFree(candidate, SOCK_STREAM) && isFree(candidate, SOCK_DGRAM) { ports.append(candidate) }
        }
        return ports
    }

    /// `count` consecutive free ports, for a command that derives its ports from a base.
    static func block(_ count: Int) -> ClosedRange<Int> {
        while true {
            let first = next.withLock { port in
                if port + count >= ephemeralStart { port = 10_000 }
                port += count
                return port - count + 1
            }
            let range = first...(first + count - 1)
            if range.allSatisfy({ isFree($0, SOCK_STREAM) && isFree($0, SOCK_DGRAM) }) { return range }
        }
    }

    /// The first port the kernel hands out to outgoing connections.
    private static let ephemeralStart: Int = {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let low = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first.flatMap { Int($0) }
        return max(low ?? 32_768, 21_000)
    }()

    private static func isFree(_ port: Int, _ type: __socket_type) -> Bool {
        let fd = socket(AF_INET, Int32(type.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        } == 0
    }
}

/// One `hearsay agent` process on loopback, with its own data directory and log file,
/// run as an unprivileged user (`Unprivileged`).
final class AgentProcess: @unchecked Sendable {
    // @unchecked: each test drives its agents from one task; `process` is only replaced
    // by start(), never concurrently with another use.
    let name: String
    let gossipPort: Int
    let httpPort: Int
    let dataDir: String
    let logPath: String
    private(set) var process: Process?

    init(name: String, gossipPort: Int, httpPort: Int, directory: String, dataDir: String? = nil) {
        self.name = name
        self.gossipPort = gossipPort
        self.httpPort = httpPort
        self.dataDir = dataDir ?? directory + "/\(name)"
        self.logPath = directory + "/\(name).log"
    }

    var client: APIClient { APIClient(address: HostPort(host: "127.0.0.1", port: httpPort)) }

    /// Whether `/healthz` answers 200 now.
    var isHealthy: Bool { (try? client.request("GET", "/healthz"))?.status == 200 }

    /// Fast failure detection so the tests run in seconds, not minutes.
    static let quick = [
        "--probe-interval", "300ms", "--probe-timeout", "150ms", "--gossip-interval", "1s",
        "--join-retry-interval", "500ms",
    ]

    /// `quick` less the settings `extra` gives (a setting given twice is refused).
    static func quick(without extra: [String]) -> [String] {
        let given = Set(extra.filter { $0.hasPrefix("--") })
        return stride(from: 0, to: quick.count, by: 2).flatMap {
            given.contains(quick[$0]) ? [] : [quick[$0], quick[$0 + 1]]
        }
    }

    /// Starts the agent; `launcher` is a command that runs it (`env VAR=value`), after
    /// privileges are dropped, so that what it sets or preloads applies to the agent alone.
    /// `persistent: false` keeps the store in memory alone (no `--data-dir`).
    func start(
        key: String, join: [Int] = [], joinAddresses: [String] = [], extra: [String] = [],
        environment: [String: String] = [:], launcher: [String] = [], persistent: Bool = true
    ) throws {
        let arguments =
            [
                "agent", "--name", name, "--bind", "127.0.0.1:\(gossipPort)", "--http", "127.0.0.1:\(httpPort)",
                "--key", key,
            ] + (persistent ? ["--data-dir", dataDir] : []) + join.flatMap { ["--join", "127.0.0.1:\($0)"] }
            + joinAddresses.flatMap { ["--join", $0] } + Self.quick(without: extra) + extra
        try Unprivileged.handOver(dataDir)
        let command =
            launcher.isEmpty
            ? Unprivileged.command(Unprivileged.hearsayBinary, arguments)
            : Unprivileged.command(launcher[0], Array(launcher.dropFirst()) + [Unprivileged.hearsayBinary] + arguments)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command.executable)
        process.arguments = command.arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        if !FileManager.default.fileExists(atPath: logPath) {
            FileManager.default.createFile(atPath: logPath, contents: nil)
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
    }

    func signal(_ signal: Int32) {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, signal)
    }

    /// The exit status once the process ends within `timeout`, else nil.
    func waitForExit(timeout: Duration) async -> Int32? {
        guard let process else { return nil }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning { return nil }
        return process.terminationStatus
    }

    /// name -> address, as this agent sees the cluster.
    func addresses() -> [String: String] { memberField("address") }

    /// name -> state, as this agent sees the cluster; empty when it does not answer.
    func members() -> [String: String] { memberField("state") }

    /// name -> one text field of each member in `/v1/members`.
    private func memberField(_ field: String) -> [String: String] {
        guard let response = try? client.request("GET", "/v1/members"), case .object(let root)? = response.json,
            case .array(let list)? = root["members"]
        else { return [:] }
        var values: [String: String] = [:]
        for member in list {
            if case .object(let f) = member, case .string(let name)? = f["name"], case .string(let value)? = f[field] {
                values[name] = value
            }
        }
        return values
    }

    /// The entry at `address` as JSON, nil when absent or unreachable.
    func entry(_ address: String) -> JSONValue? {
        guard let response = try? client.request("GET", "/v1/metadata/" + PercentEncoding.encode(address)),
            response.status == 200
        else { return nil }
        return response.json
    }

    /// The values of every version of an entry.
    func values(_ address: String) -> [JSONValue] {
        guard case .object(let root)? = entry(address), case .array(let versions)? = root["versions"] else { return [] }
        return versions.compactMap { version in
            if case .object(let f) = version { return f["value"] }
            return nil
        }
    }

    func put(_ address: String, _ value: JSONValue, token: String? = nil) throws -> APIClient.Response {
        var client = self.client
        client.token = token
        return try client.request(
            "PUT", "/v1/metadata/" + PercentEncoding.encode(address),
            body: Array(JSONValue.object(["value": value]).canonicalText.utf8))
    }

    /// The value of a counter or gauge line of `/metrics` (summed over matching lines).
    func metric(_ prefix: String) -> Double {
        guard let text = try? client.request("GET", "/metrics").text else { return 0 }
        return text.split(separator: "\n").filter { $0.hasPrefix(prefix) }.compactMap { line in
            line.split(separator: " ").last.flatMap { Double($0) }
        }.reduce(0, +)
    }

    var logText: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// A GET that may wait (a blocking query), run on a thread of its own (not one of
    /// the few that run tasks, which a blocked socket would hold), so that the test can
    /// act while it waits; its answer and when it came.
    func waiting(_ path: String, timeout: Duration = .seconds(150)) -> Task<
        (APIClient.Response?, ContinuousClock.Instant), Never
    > {
        var client = self.client
        client.timeout = timeout
        let asking = client
        return Task {
            await withCheckedContinuation { done in
                Thread.detachNewThread {
                    let response = try? asking.request("GET", path)
                    done.resume(returning: (response, ContinuousClock.now))
                }
            }
        }
    }
}

/// Polls `condition` every 100 ms until it holds or `timeout` passes.
func eventually(
    timeout: Duration = .seconds(30), every interval: Duration = .milliseconds(100), _ condition: () -> Bool
) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return condition()
}

/// Several agents on loopback sharing a key; `stop()` kills whatever still runs.
final class AgentCluster: @unchecked Sendable {
    // @unchecked: used from one test task at a time (see AgentProcess).
    let directory = TemporaryDirectory("hearsay-cluster")
    let key: String
    let agents: [AgentProcess]

    init(size: Int, prefix: String = "node") {
        key = Base64Key.make()
        let ports = FreePorts.take(size * 2)
        let path = directory.path
        agents = (0..<size).map { index in
            AgentProcess(
                name: "\(prefix)-\(index + 1)", gossipPort: ports[2 * index], httpPort: ports[2 * index + 1],
                directory: path)
        }
    }

    /// Starts every agent; all but the first join through the first.
    func start(extra: [String] = [], persistent: Bool = true) throws {
        for (index, agent) in agents.enumerated() {
            try agent.start(
                key: key, join: index == 0 ? [] : [agents[0].gossipPort], extra: extra, persistent: persistent)
        }
    }

    /// Whether every agent in `observers` sees exactly `expected` (name -> state).
    func allSee(_ expected: [String: String], observers: [AgentProcess]? = nil) -> Bool {
        (observers ?? agents).allSatisfy { $0.members() == expected }
    }

    func everyoneAlive() -> [String: String] {
        Dictionary(uniqueKeysWithValues: agents.map { ($0.name, "alive") })
    }

    func stop() {
        for agent in agents { agent.signal(SIGKILL) }
        directory.remove()
    }

    /// The agents' logs, for a failure message.
    var logs: String {
        agents.map { "--- \($0.name)\n" + String($0.logText.suffix(3000)) }.joined(separator: "\n")
    }
}

enum Base64Key {
    /// A random 32-byte key in base64.
    static func make() -> String {
        Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
    }
}
