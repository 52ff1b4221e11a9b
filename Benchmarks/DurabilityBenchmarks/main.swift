// Durable PUTs per second against a real release agent, with 1, 16 and 64 concurrent
// clients on keep-alive connections, beside the single-client fdatasync rate of the same
// disk measured in the same run (the physical limit of durability per sync); then the
// same with a disk that takes 200 ms per sync, and what a peer sees of that agent's
// probes meanwhile. `make bench` builds the agent and the slow-disk library first.
import HearsayCore
import HearsayNode
import HearsayWire
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

let root = ProcessArguments.directory
let agentBinary = root + "/.build/release/hearsay"
let slowSyncLibrary = root + "/.build/slow-sync.so"

enum ProcessArguments {
    /// The checkout: the benchmark runs from it (`make bench`).
    static var directory: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

func format(_ x: Double, _ digits: Int = 1) -> String {
    var text = "\(Double(Int((x * pow(10, Double(digits))).rounded())) / pow(10, Double(digits)))"
    if digits == 0, text.hasSuffix(".0") { text.removeLast(2) }
    return text
}

func monotonicSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

func freePort() -> Int {
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
final class AgentProcess {
    let name: String
    let gossipPort = freePort()
    let httpPort = freePort()
    let dataDir: String
    private(set) var pid: pid_t = 0

    init(name: String, dataDir: String) {
        self.name = name
        self.dataDir = dataDir
    }

    var client: APIClient { APIClient(address: HostPort(host: "127.0.0.1", port: httpPort)) }

    func start(key: String, join: AgentProcess? = nil, environment: [String] = []) throws {
        var arguments = [
            agentBinary, "agent", "--name", name, "--bind", "127.0.0.1:\(gossipPort)",
            "--http", "127.0.0.1:\(httpPort)", "--key", key, "--data-dir", dataDir, "--log-level", "warning",
        ]
        if let join { arguments += ["--join", "127.0.0.1:\(join.gossipPort)"] }
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

    func stop() {
        guard pid > 0 else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = 0
    }

    /// The sum of the `/metrics` lines whose series starts with `series`.
    func metric(_ series: String) -> Double {
        guard let text = try? client.request("GET", "/metrics").text else { return .nan }
        return text.split(separator: "\n").filter { $0.hasPrefix(series) }.compactMap { line in
            line.split(separator: " ").last.flatMap { Double($0) }
        }.reduce(0, +)
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What the clients of one load measured.
final class Results: Sendable {
    let state = Mutex((count: 0, failures: 0, latencies: [Double]()))
}

/// `clients` keep-alive connections, each sending PUTs one after another for `seconds`.
final class PutLoad: ChannelInboundHandler, @unchecked Sendable {
    // @unchecked: each handler lives on the one event loop of the load's group.
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let client: Int
    let deadline: Double
    let results: Results
    private var sequence = 0
    private var sentAt = 0.0
    private var status: UInt = 0
    let done: EventLoopPromise<Void>

    /// GET /healthz instead of PUTs: the same connections and HTTP work with no write,
    /// the ceiling of this load generator against this agent on this machine.
    let healthOnly: Bool

    init(client: Int, deadline: Double, results: Results, done: EventLoopPromise<Void>, healthOnly: Bool) {
        self.healthOnly = healthOnly
        self.client = client
        self.deadline = deadline
        self.results = results
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context)
    }

    private func send(_ context: ChannelHandlerContext) {
        guard monotonicSeconds() < deadline else {
            done.succeed(())
            context.close(promise: nil)
            return
        }
        sequence += 1
        sentAt = monotonicSeconds()
        if healthOnly {
            var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/healthz")
            head.headers.add(name: "Host", value: "127.0.0.1")
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        let body = #"{"value":{"client":\#(client),"n":\#(sequence)}}"#
        var head = HTTPRequestHead(
            version: .http1_1, method: .PUT, uri: "/v1/metadata/bench/\(client)/\(sequence % 100)")
        head.headers.add(name: "Host", value: "127.0.0.1")
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = head.status.code
        case .body: break
        case .end:
            let latency = monotonicSeconds() - sentAt
            let ok = status == 200
            results.state.withLock {
                if ok {
                    $0.count += 1
                    $0.latencies.append(latency)
                } else {
                    $0.failures += 1
                }
            }
            send(context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.succeed(())
        context.close(promise: nil)
    }
}

func runLoad(port: Int, clients: Int, seconds: Double, healthOnly: Bool = false) throws -> (
    perSecond: Double, p50: Double, p99: Double, failures: Int
) {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer { try? group.syncShutdownGracefully() }
    let results = Results()
    let start = monotonicSeconds()
    let deadline = start + seconds
    var finished: [EventLoopFuture<Void>] = []
    for client in 0..<clients {
        let loop = group.next()
        let done = loop.makePromise(of: Void.self)
        finished.append(done.futureResult)
        ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(
                        PutLoad(
                            client: client, deadline: deadline, results: results, done: done, healthOnly: healthOnly))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .whenFailure { _ in done.succeed(()) }
    }
    try EventLoopFuture.andAllComplete(finished, on: group.next()).wait()
    let elapsed = monotonicSeconds() - start
    let (count, failures, latencies) = results.state.withLock { ($0.count, $0.failures, $0.latencies.sorted()) }
    func percentile(_ p: Double) -> Double {
        latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] * 1000
    }
    return (Double(count) / elapsed, percentile(0.5), percentile(0.99), failures)
}

/// One writer appending 64 bytes and calling fdatasync, for `seconds`: syncs per second.
func fdatasyncRate(directory: String, seconds: Double) -> Double {
    let path = directory + "/fdatasync-probe"
    let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    guard fd >= 0 else { return .nan }
    defer {
        close(fd)
        unlink(path)
    }
    let bytes = [UInt8](repeating: 7, count: 64)
    var syncs = 0
    let start = monotonicSeconds()
    while monotonicSeconds() - start < seconds {
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fdatasync(fd)
        syncs += 1
    }
    return Double(syncs) / (monotonicSeconds() - start)
}

func removeTree(_ path: String) {
    var pid: pid_t = 0
    let words: [String] = ["/bin/rm", "-rf", path]
    let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    guard posix_spawn(&pid, "/bin/rm", nil, nil, argv, environ) == 0 else { return }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
}

func key() -> String {
    var bytes = [UInt8](repeating: 0, count: 32)
    for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
    return Base64.encode(bytes)
}

guard access(agentBinary, X_OK) == 0 else {
    print("no release agent at \(agentBinary): run `make bench` (or `make release`) first")
    exit(1)
}
let scratch = root + "/.build/bench-durability"
_ = mkdir(root + "/.build", 0o755)
_ = mkdir(scratch, 0o755)
let seconds = 5.0
print(
    "Durable PUTs on one release agent (each answered after its record is fdatasync'ed), \(format(seconds, 0)) s a run:"
)
let limit = fdatasyncRate(directory: scratch, seconds: 2)
print("  this disk's single-writer fdatasync rate: \(format(limit, 0))/s (one durable write per sync)")
for (label, environment) in [
    ("", [String]()), (" (200 ms per sync)", ["LD_PRELOAD=\(slowSyncLibrary)", "HEARSAY_SLOW_SYNC_MS=200"]),
] {
    if !environment.isEmpty, access(slowSyncLibrary, R_OK) != 0 {
        print("  no \(slowSyncLibrary): `make bench` builds it; slow-disk runs skipped")
        break
    }
    let clusterKey = key()
    let directory = scratch + "/run-\(getpid())-\(Int(monotonicSeconds() * 1000))"
    _ = mkdir(directory, 0o755)
    let writer = AgentProcess(name: "writer", dataDir: directory + "/writer")
    let peer = AgentProcess(name: "peer", dataDir: directory + "/peer")
    defer {
        writer.stop()
        peer.stop()
    }
    try writer.start(key: clusterKey, environment: environment)
    try peer.start(key: clusterKey, join: writer)
    usleep(2_000_000)
    // The same connections and HTTP work with no write: the ceiling of this load against
    // this agent on this machine, which durable PUTs are measured against too.
    var ceiling = 0.0
    if environment.isEmpty {
        let run = try runLoad(port: writer.httpPort, clients: 64, seconds: seconds, healthOnly: true)
        ceiling = run.perSecond
        print(
            "  64 clients, GET /healthz (no write; this load's ceiling against this agent): "
                + "\(format(ceiling, 0)) answers/s, p50 \(format(run.p50, 2)) ms")
    }
    for clients in [1, 16, 64] {
        let suspicionsBefore = peer.metric("hearsay_suspicions_total")
        let rttSumBefore = writer.metric("hearsay_probe_rtt_seconds_sum")
        let rttCountBefore = writer.metric("hearsay_probe_rtt_seconds_count")
        let run = try runLoad(port: writer.httpPort, clients: clients, seconds: seconds)
        let suspicions = peer.metric("hearsay_suspicions_total") - suspicionsBefore
        let rttCount = writer.metric("hearsay_probe_rtt_seconds_count") - rttCountBefore
        let rtt = (writer.metric("hearsay_probe_rtt_seconds_sum") - rttSumBefore) / max(1, rttCount) * 1000
        let ratio =
            environment.isEmpty
            ? "  \(format(run.perSecond / limit, 2))x the fdatasync rate, \(format(run.perSecond / ceiling, 2))x the /healthz ceiling"
            : ""
        print(
            "  \(clients) client\(clients == 1 ? "" : "s")\(label): \(format(run.perSecond, 0)) PUTs/s, "
                + "p50 \(format(run.p50, 2)) ms, p99 \(format(run.p99, 2)) ms\(ratio); "
                + "probes: \(format(rttCount, 0)) acked at \(format(rtt, 2)) ms mean, peer's suspicions \(format(suspicions, 0))"
                + (run.failures > 0 ? "; \(run.failures) refused" : ""))
    }
    writer.stop()
    peer.stop()
    removeTree(directory)
}
