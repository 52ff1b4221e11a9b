// What the benchmarks that run release agents share: agents in processes of their own,
// free ports, the clock, keys and figures.
import HearsayCore
import HearsayNode
import HearsayWire

#if canImport(Glibc)
    import Glibc
#endif

package enum ProcessArguments {
    /// The checkout: the benchmark runs from it (`make bench`).
    package static var directory: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

package func format(_ x: Double, _ digits: Int = 1) -> String {
    var text = "\(Double(Int((x * pow(10, Double(digits))).rounded())) / pow(10, Double(digits)))"
    if digits == 0, text.hasSuffix(".0") { text.removeLast(2) }
    return text
}

package func monotonicSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

package func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A release agent in a process of its own, as users run it.
package final class AgentProcess {
    package let name: String
    package let gossipPort = freePort()
    package let httpPort = freePort()
    package let dataDir: String
    package private(set) var pid: pid_t = 0
    private let agentBinary: String

    /// An agent of `binary` (the release build) with its data in `dataDir`.
    package init(name: String, dataDir: String, binary: String) {
        self.name = name
        self.dataDir = dataDir
        self.agentBinary = binary
    }

    package var client: APIClient { APIClient(address: HostPort(host: "127.0.0.1", port: httpPort)) }

    /// Starts it, joined to `join`, with `arguments` added to its command line and
    /// `environment` to its environment; returns once it answers `/healthz`.
    package func start(
        key: String, join: AgentProcess? = nil, environment: [String] = [], arguments extra: [String] = []
    ) throws {
        var arguments = [
            agentBinary, "agent", "--name", name, "--bind", "127.0.0.1:\(gossipPort)",
            "--http", "127.0.0.1:\(httpPort)", "--key", key, "--data-dir", dataDir, "--log-level", "warning",
        ]
        if let join { arguments += ["--join", "127.0.0.1:\(join.gossipPort)"] }
        arguments += extra
        var inherited: [String] = []
        var pointer = environ
        while let entry = pointer.pointee {
            inherited.append(String(cString: entry))
            pointer += 1
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, dataDir + ".log", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = (inherited + environment).map { strdup($0) } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        let status = posix_spawn(&pid, agentBinary, &actions, nil, argv, envp)
        guard status == 0 else { throw BenchmarkError("cannot start \(agentBinary): errno \(status)") }
        let deadline = monotonicSeconds() + 20
        while monotonicSeconds() < deadline {
            if (try? client.request("GET", "/healthz"))?.status == 200 { return }
            usleep(50_000)
        }
        throw BenchmarkError("agent \(name) did not become healthy")
    }

    package func stop() {
        guard pid > 0 else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = 0
    }

    /// The sum of the `/metrics` lines whose series starts with `series`.
    package func metric(_ series: String) -> Double {
        guard let text = try? client.request("GET", "/metrics").text else { return .nan }
        return text.split(separator: "\n").filter { $0.hasPrefix(series) }.compactMap { line in
            line.split(separator: " ").last.flatMap { Double($0) }
        }.reduce(0, +)
    }
}

package struct BenchmarkError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}

package func removeTree(_ path: String) {
    var pid: pid_t = 0
    let words: [String] = ["/bin/rm", "-rf", path]
    let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    guard posix_spawn(&pid, "/bin/rm", nil, nil, argv, environ) == 0 else { return }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
}

package func key() -> String {
    var bytes = [UInt8](repeating: 0, count: 32)
    for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
    return Base64.encode(bytes)
}
