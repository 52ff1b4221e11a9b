import BenchmarkSupport
// Durable PUTs per second against a real release agent, with 1, 16 and 64 concurrent
// clients on keep-alive connections, beside the single-client fdatasync rate of the same
// disk measured in the same run (the physical limit of durability per sync); then the
// same with a disk that takes 200 ms per sync, and what a peer sees of that agent's
// probes meanwhile. `make bench` builds the agent and the slow-disk library first.
import HearsayCore
import HearsayNode
import HearsayWire
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

let root = ProcessArguments.directory
let agentBinary = root + "/.build/release/hearsay"
let slowSyncLibrary = root + "/.build/slow-sync.so"

/// What the clients of one load measured.
final class Results: Sendable {
    let state = Mutex((count: 0, failures: 0, latencies: [Double]()))
}

/// `clients` keep-alive connections, each sending PUTs one after another for `seconds`.
///
/// Requests are written and answers read as bytes, without NIO's HTTP client codec: the
/// load shares the two cores with the agent it measures, and every instruction it saves
/// is one the agent can use (what `wrk` does beside a server).
final class PutLoad: ChannelInboundHandler, @unchecked Sendable {
    // @unchecked: each handler lives on the one event loop of the load's group.
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let client: Int
    let deadline: Double
    let results: Results
    private var sequence = 0
    private var sentAt = 0.0
    /// What has arrived of the answer being read.
    private var answer = ByteBuffer()
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
        var request = context.channel.allocator.buffer(capacity: 192)
        if healthOnly {
            request.writeStaticString("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        } else {
            // Small integers make strings held inline, with nothing allocated.
            let clientText = String(client)
            let sequenceText = String(sequence)
            // {"value":{"client":C,"n":N}}: 26 bytes of text around the two numbers.
            let bodyLength = 26 + clientText.utf8.count + sequenceText.utf8.count
            request.writeStaticString("PUT /v1/metadata/bench/")
            request.writeString(clientText)
            request.writeStaticString("/")
            request.writeString(String(sequence % 100))
            request.writeStaticString(
                " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ")
            request.writeString(String(bodyLength))
            request.writeStaticString("\r\n\r\n{\"value\":{\"client\":")
            request.writeString(clientText)
            request.writeStaticString(",\"n\":")
            request.writeString(sequenceText)
            request.writeStaticString("}}")
        }
        context.writeAndFlush(wrapOutboundOut(request), promise: nil)
    }

    private static let contentLength = Array("content-length:".utf8)

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if answer.readableBytes == 0 {
            answer = bytes
        } else {
            answer.writeBuffer(&bytes)
        }
        guard let (status, length) = Self.whole(answer) else { return }
        answer.moveReaderIndex(forwardBy: length)
        if answer.readableBytes == 0 { answer.clear() }
        let latency = monotonicSeconds() - sentAt
        results.state.withLock {
            if status == 200 {
                $0.count += 1
                $0.latencies.append(latency)
            } else {
                $0.failures += 1
            }
        }
        send(context)
    }

    /// The status and total length of the answer at the front of `buffer`, once it has
    /// arrived whole (head, then `Content-Length` bytes of body). A scan of the bytes, not
    /// of strings made from them, since the load's every instruction is one the agent
    /// beside it on the two cores does not get.
    static func whole(_ buffer: ByteBuffer) -> (status: Int, length: Int)? {
        buffer.withUnsafeReadableBytes { text -> (status: Int, length: Int)? in
            let count = text.count
            guard count >= 16 else { return nil }
            var headEnd = -1
            var index = 12
            while index + 3 < count {
                if text[index] == 13 && text[index + 1] == 10 && text[index + 2] == 13 && text[index + 3] == 10 {
                    headEnd = index
                    break
                }
                index += 1
            }
            guard headEnd >= 0 else { return nil }
            func digit(_ at: Int) -> Int? {
                let byte = text[at]
                return (48...57).contains(byte) ? Int(byte - 48) : nil
            }
            guard let hundreds = digit(9), let tens = digit(10), let ones = digit(11) else { return (0, count) }
            let status = hundreds * 100 + tens * 10 + ones
            // Content-Length, matched without regard to case at the start of a line.
            let name = contentLength
            var length = 0
            var line = 0
            while line < headEnd {
                while line < headEnd && text[line] != 10 { line += 1 }
                line += 1
                guard line + name.count < headEnd else { break }
                if text[line..<line + name.count].elementsEqual(name, by: { $0 | 0x20 == $1 | 0x20 }) {
                    var at = line + name.count
                    while text[at] == 32 { at += 1 }
                    while let value = digit(at) {
                        length = length * 10 + value
                        at += 1
                    }
                    break
                }
            }
            let total = headEnd + 4 + length
            return count >= total ? (status, total) : nil
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.succeed(())
        context.close(promise: nil)
    }
}

func runLoad(port: Int, clients: Int, seconds: Double, healthOnly: Bool = false) throws -> (
    perSecond: Double, p50: Double, p99: Double, failures: Int, count: Int
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
    return (Double(count) / elapsed, percentile(0.5), percentile(0.99), failures, count)
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
    let writer = AgentProcess(name: "writer", dataDir: directory + "/writer", binary: agentBinary)
    let peer = AgentProcess(name: "peer", dataDir: directory + "/peer", binary: agentBinary)
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
        let localBefore = writer.metric(#"hearsay_metadata_updates_total{origin="local"}"#)
        let run = try runLoad(port: writer.httpPort, clients: clients, seconds: seconds)
        // The agent's own count of the writes it took: the load's framing of answers is
        // its own byte scan, so what it counted is checked against the agent's figure.
        let taken = writer.metric(#"hearsay_metadata_updates_total{origin="local"}"#) - localBefore
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
                + (run.failures > 0 ? "; \(run.failures) refused" : "")
                + (abs(taken - Double(run.count)) > Double(clients)
                    ? "; the agent took \(format(taken, 0)) writes, the load counted \(run.count)" : ""))
    }
    writer.stop()
    peer.stop()
    removeTree(directory)
}
