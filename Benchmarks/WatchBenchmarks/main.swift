// Watchers against real release agents (`make bench-watch`, part of `make bench`): how
// soon a blocking query and an event stream on one node see a write made on another,
// beside when that node first serves it to a client polling it, in the same run; then
// what 10,000 idle watchers cost the agent in memory and CPU while nothing changes, and
// how long one write takes to reach all of them.
import BenchmarkSupport
import HearsayCore
import HearsayNode
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

let root = ProcessArguments.directory
let agentBinary = root + "/.build/release/hearsay"
let watchers = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 10_000 : 10_000
let writes = 30

/// Runs `body` on a thread of its own: the watchers block in `recv`.
func spawn(_ body: @escaping @Sendable () -> Void) {
    final class Box: @unchecked Sendable {
        // @unchecked: handed to the new thread once and only read there.
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    pthread_create(
        &thread, nil,
        { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
    pthread_detach(thread)
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

func ms(_ seconds: Double) -> String { format(seconds * 1000, 2) + " ms" }

/// The agent's resident memory (kB) and CPU time (clock ticks) from /proc.
func usage(_ pid: pid_t) -> (rssKB: Int, ticks: Int) {
    func read(_ path: String) -> String {
        guard let file = fopen(path, "r") else { return "" }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
    let status = read("/proc/\(pid)/status")
    let rss =
        status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        .flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) } ?? 0
    let stat = read("/proc/\(pid)/stat")
    let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
    let ticks = fields.count > 13 ? (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0) : 0
    return (rss, ticks)
}

/// A connection that sent `request` and then only waits: an idle watcher.
func openWatcher(port: Int, _ request: String) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else {
        close(fd)
        return -1
    }
    let bytes = Array(request.utf8)
    _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    return fd
}

/// Waits until every one of `fds` has bytes to read, reading them; the seconds it took.
func waitReadable(_ fds: [Int32], timeout: Double) -> (seconds: Double, all: Bool) {
    let start = monotonicSeconds()
    var pending = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while !pending.isEmpty && monotonicSeconds() - start < timeout {
        let ready = poll(&pending, nfds_t(pending.count), 100)
        guard ready > 0 else { continue }
        var left: [pollfd] = []
        for entry in pending {
            if entry.revents != 0 {
                _ = recv(entry.fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            } else {
                left.append(pollfd(fd: entry.fd, events: Int16(POLLIN), revents: 0))
            }
        }
        pending = left
    }
    return (monotonicSeconds() - start, pending.isEmpty)
}

guard access(agentBinary, X_OK) == 0 else {
    print("no release agent at \(agentBinary): run `make bench-watch` (or `make release`) first")
    exit(1)
}
var limit = rlimit()
getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
limit.rlim_cur = limit.rlim_max
setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
let idleWatchers = min(watchers, Int(limit.rlim_cur) - 200)

let scratch = root + "/.build/bench-watch"
_ = mkdir(root + "/.build", 0o755)
_ = mkdir(scratch, 0o755)
let directory = scratch + "/run-\(getpid())"
_ = mkdir(directory, 0o755)
let writer = AgentProcess(name: "writer", dataDir: directory + "/writer", binary: agentBinary)
let watcher = AgentProcess(name: "watcher", dataDir: directory + "/watcher", binary: agentBinary)
defer {
    writer.stop()
    watcher.stop()
    removeTree(directory)
}
let room = [
    "--max-http-connections", "\(idleWatchers + 100)", "--max-http-connections-per-address", "\(idleWatchers + 100)",
]
let clusterKey = key()
try writer.start(key: clusterKey, arguments: room)
try watcher.start(key: clusterKey, join: writer, arguments: room)
let joinedBy = monotonicSeconds() + 20
while monotonicSeconds() < joinedBy && watcher.metric("hearsay_members{state=\"alive\"}") < 2 { usleep(50_000) }

print("Watchers on a release agent, a write made on another (both on loopback, \(writes) writes a kind):")

// 1. Latency: from the PUT on the writer until the watcher's node shows it.
let streamLines = Mutex<[(at: Double, line: String)]>([])
let streamClient = watcher.client
spawn {
    try? streamClient.stream("/v1/events?types=metadata&prefix=bench/") { line in
        let at = monotonicSeconds()
        streamLines.withLock { $0.append((at, line)) }
        return true
    }
}
while watcher.metric("hearsay_event_streams ") < 1 { usleep(10_000) }

var acked: [Double] = []
var polled: [Double] = []
var blocked: [Double] = []
var streamed: [Double] = []
func streamArrival(after count: Int) -> Double? {
    let deadline = monotonicSeconds() + 5
    while monotonicSeconds() < deadline {
        if let first = streamLines.withLock({ $0.count > count ? $0[count].at : nil }) { return first }
        usleep(200)
    }
    return nil
}
for round in 0..<(2 * writes) {
    let value = JSONValue.number(Double(round))
    let body = Array(JSONValue.object(["value": value]).canonicalText.utf8)
    let seen = streamLines.withLock { $0.count }
    let path = "/v1/metadata/bench/key"
    if round % 2 == 0 {
        // A client polling the watcher's node as fast as it answers: when it serves the write.
        let start = monotonicSeconds()
        _ = try writer.client.request("PUT", path, body: body)
        acked.append(monotonicSeconds() - start)
        while true {
            if let answer = try? watcher.client.request("GET", path),
                answer.json.map({ "\($0)" })?.contains("\"value\":\(value.canonicalText),") == true
            {
                break
            }
            if monotonicSeconds() - start > 5 { break }
        }
        polled.append(monotonicSeconds() - start)
    } else {
        // A blocking query parked on the watcher's node, answered by the write.
        let index = (try? watcher.client.request("GET", path))?.header("X-Hearsay-Index") ?? "0"
        let answered = Mutex<Double?>(nil)
        var waiting = watcher.client
        waiting.timeout = .seconds(30)
        let asking = waiting
        spawn {
            _ = try? asking.request("GET", path + "?index=\(index)&wait=30s")
            answered.withLock { $0 = monotonicSeconds() }
        }
        while watcher.metric("hearsay_blocking_queries ") < 1 { usleep(2_000) }
        let start = monotonicSeconds()
        _ = try writer.client.request("PUT", path, body: body)
        acked.append(monotonicSeconds() - start)
        while answered.withLock({ $0 }) == nil && monotonicSeconds() - start < 10 { usleep(100) }
        if let at = answered.withLock({ $0 }) { blocked.append(at - start) }
        if let at = streamArrival(after: seen) { streamed.append(at - start) }
    }
}
print(
    "  the writer's answer to its PUT (durable): median \(ms(percentile(acked, 0.5))), p90 \(ms(percentile(acked, 0.9)))"
)
print(
    "  the watcher's node first serves it (a client polling it): median \(ms(percentile(polled, 0.5))), p90 \(ms(percentile(polled, 0.9)))"
)
print(
    "  a blocking query there answers: median \(ms(percentile(blocked, 0.5))), p90 \(ms(percentile(blocked, 0.9)))"
        + "; \(ms(percentile(blocked, 0.5) - percentile(polled, 0.5))) past the poller's median (target: at most 5 ms)"
)
print(
    "  an event stream there gets it: median \(ms(percentile(streamed, 0.5))), p90 \(ms(percentile(streamed, 0.9)))"
        + "; \(ms(percentile(streamed, 0.5) - percentile(polled, 0.5))) past the poller's median"
)

// 2. Idle watchers: memory and CPU while nothing changes, and one write's fan-out.
// Each kind on an agent of its own, joined to the writer, so that neither's memory is
// measured from what the other left behind.
for kind in ["event streams", "blocking queries"] {
    let name = kind == "event streams" ? "idle-streams" : "idle-queries"
    let watcher = AgentProcess(name: name, dataDir: directory + "/" + name, binary: agentBinary)
    defer { watcher.stop() }
    try watcher.start(key: clusterKey, join: writer, arguments: room)
    let readyBy = monotonicSeconds() + 20
    while monotonicSeconds() < readyBy && watcher.metric("hearsay_members{state=\"alive\"}") < 3 { usleep(50_000) }
    usleep(2_000_000)
    // A query waits past the node's current index (one ahead of it is answered at once).
    let index = (try? watcher.client.request("GET", "/v1/metadata/idle/key"))?.header("X-Hearsay-Index") ?? "0"
    let request =
        kind == "event streams"
        ? "GET /v1/events?types=metadata&prefix=idle/ HTTP/1.1\r\nHost: bench\r\n\r\n"
        : "GET /v1/metadata/idle/key?index=\(index)&wait=10m HTTP/1.1\r\nHost: bench\r\n\r\n"
    let before = usage(watcher.pid)
    var fds: [Int32] = []
    for _ in 0..<idleWatchers {
        let fd = openWatcher(port: watcher.httpPort, request)
        if fd >= 0 { fds.append(fd) }
    }
    let series = kind == "event streams" ? "hearsay_event_streams " : "hearsay_blocking_queries "
    let openBy = monotonicSeconds() + 60
    while monotonicSeconds() < openBy && watcher.metric(series) < Double(fds.count) { usleep(100_000) }
    let opened = watcher.metric(series)
    // The streams' heads, written when they opened, are read first.
    if kind == "event streams" { _ = waitReadable(fds, timeout: 10) }
    usleep(1_000_000)
    let idleStart = usage(watcher.pid)
    // 30 s: one round of the streams' heartbeats, which is what idle streams cost.
    let idleSeconds = 30.0
    usleep(UInt32(idleSeconds * 1_000_000))
    let idleEnd = usage(watcher.pid)
    let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
    let cpu = Double(idleEnd.ticks - idleStart.ticks) / ticksPerSecond / idleSeconds * 100
    let grown = Double(idleEnd.rssKB - before.rssKB) / 1024
    print(
        "  \(Int(opened)) idle \(kind) on one agent: +\(format(grown, 1)) MB resident (\(format(grown * 1024 * 1024 / max(opened, 1) / 1024, 2)) KB each; target: under 50 MB for 10,000)"
            + ", \(format(cpu, 2)) % of a core over \(format(idleSeconds, 0)) s idle"
    )
    let start = monotonicSeconds()
    _ = try writer.client.request("PUT", "/v1/metadata/idle/key", body: Array(#"{"value":"wake"}"#.utf8))
    let all = waitReadable(fds, timeout: 30).all
    let took = monotonicSeconds() - start
    print(
        "    one write on the other node reached all \(fds.count) of them in \(ms(took))\(all ? "" : " (not all within 30 s)") (from its PUT)"
    )
    for fd in fds { close(fd) }
    let closedBy = monotonicSeconds() + 30
    while monotonicSeconds() < closedBy && watcher.metric(series) > 0 { usleep(100_000) }
}
