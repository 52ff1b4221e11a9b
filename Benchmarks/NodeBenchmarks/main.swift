// Node benchmarks: the cost of serving /metrics, printed beside its target, never asserted.
// Run with `make bench` (release build).
import HearsayCore
import HearsayNode

let clock = ContinuousClock()

func milliseconds(_ d: Duration) -> Double {
    let (s, atto) = d.components
    return Double(s) * 1e3 + Double(atto) / 1e15
}

func format(_ x: Double, _ digits: Int = 3) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    return "\((x * scale).rounded() / scale)"
}

/// An engine holding `members` members and `entries` metadata entries, a few of them in
/// conflict, as a busy node would.
func loadedEngine(members: Int, entries: Int) throws -> Engine {
    let now = Instant(nanoseconds: 1_800_000_000_000_000_000)
    let me = NodeID(unchecked: "node-0")
    let statuses: [MemberStatus] = [.alive, .alive, .alive, .alive, .suspect, .failed, .left]
    let table = MemberTable(
        (1..<members).map { index in
            Member(
                id: NodeID(unchecked: "node-\(index)"), address: PeerAddress("10.0.\(index / 250).\(index % 250):7946"),
                incarnation: UInt64(index), status: statuses[index % statuses.count], statusChangedAt: now)
        })
    var store = MetadataStore()
    for index in 0..<entries {
        _ = try store.write(
            address: MetadataAddress("services/svc-\(index)/config"),
            value: .object(["replicas": .number(Double(index % 7)), "image": .string("registry/app:\(index)")]),
            status: index % 10 == 0 ? .deprecated : .active, by: me, at: now)
    }
    var config = EngineConfig(nodeID: me, address: PeerAddress("10.0.0.0:7946"))
    config.dissemination.messageBufferSize = 1000
    return try Engine(config: config, store: store, members: table, seed: 1, now: now)
}

let members = 1_000
let entries = 10_000
let engine = try loadedEngine(members: members, entries: entries)
let metrics = NodeMetrics(version: BuildInfo.version, protocolVersion: BuildInfo.protocolVersion)
for index in 0..<10_000 {
    // Some traffic, so histograms and labelled counters have values to print.
    metrics.record(.probeRTT(.microseconds(Int64(100 + index % 900))))
    metrics.record(.disseminationLatency(.milliseconds(Int64(5 + index % 200))))
    metrics.record(.metadataUpdated(origin: index % 3 == 0 ? .local : .remote))
}

var bytes = 0
var best = Duration.seconds(1000)
var total = Duration.zero
let renders = 500
for _ in 0..<renders {
    let started = clock.now
    metrics.refresh(from: engine)
    bytes = metrics.render().count
    let took = clock.now - started
    total += took
    best = min(best, took)
}
let mean = milliseconds(total) / Double(renders)
print("/metrics with \(members) members and \(entries) metadata entries: \(bytes) bytes")
print("render (gauges read from the engine, /proc read, text written), \(renders) renders:")
print("  mean \(format(mean)) ms, best \(format(milliseconds(best))) ms (target < 5 ms: ratio \(format(mean / 5, 2)))")
print("scraped every second: \(format(mean / 10, 3))% of a core")

// A live agent in this process, scraped over HTTP: CPU time per scrape, HTTP included.
#if canImport(Glibc)
    import Glibc
    import Logging
    import NIOPosix

    func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    var settings = NodeSettings()
    settings.name = NodeID(unchecked: "bench")
    settings.bind = HostPort(host: "127.0.0.1", port: 0)
    settings.http = HostPort(host: "127.0.0.1", port: 0)
    settings.key = Array(repeating: 7, count: 32)
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let node = try Node(
        settings: settings, eventLoop: group.next(),
        logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() })
    try await node.start()
    guard let address = await node.httpAddress, let port = address.port else { fatalError("no HTTP address") }
    let client = APIClient(address: HostPort(host: "127.0.0.1", port: port))
    let scrapes = 2000
    let cpuBefore = cpuSeconds()
    let wallBefore = clock.now
    for _ in 0..<scrapes { _ = try client.request("GET", "/metrics") }
    let perScrape = (cpuSeconds() - cpuBefore) / Double(scrapes) * 1000
    let wall = milliseconds(clock.now - wallBefore) / Double(scrapes)
    print("live agent (empty store), \(scrapes) scrapes over HTTP on loopback:")
    print(
        "  \(format(perScrape)) ms of CPU a scrape, client included (\(format(wall)) ms wall); "
            + "scraped every second: \(format(perScrape / 10, 3))% of a core")
    await node.stop()
    try await group.shutdownGracefully()
#endif
