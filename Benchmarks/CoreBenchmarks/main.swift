// Core benchmarks: figures printed beside their bounds and targets, never asserted.
// Run with `make bench` (release build).
import HearsayCore

#if canImport(Glibc)
    import Glibc
#endif

let clock = ContinuousClock()

func seconds(_ d: Duration) -> Double {
    let (s, atto) = d.components
    return Double(s) + Double(atto) / 1e18
}

func format(_ x: Double, _ digits: Int = 2) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    return "\((x * scale).rounded() / scale)"
}

/// Peak resident memory of this process, from /proc (0 where unavailable).
func peakResidentMB() -> Double {
    #if canImport(Glibc)
        guard let file = fopen("/proc/self/status", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("VmHWM:") {
                let kb = text.split(separator: " ").compactMap { Double($0) }.first ?? 0
                return kb / 1024
            }
        }
    #endif
    return 0
}

func ceilLog(_ n: Int, base: Int) -> Int {
    var power = 1
    var k = 0
    while power < n {
        power *= base
        k += 1
    }
    return k
}

// MARK: Convergence rounds

func convergence(nodes: Int, fanout: Int) throws {
    var config = SimulationConfig()
    config.nodes = nodes
    config.seed = 2024
    config.preloadMembership = true
    config.tune = {
        $0.dissemination.gossipNodes = fanout
        // Heartbeats would fill every node's table of payloads; this run measures one write.
        $0.membership.heartbeatInterval = .seconds(3600)
    }
    let sim = try Simulation(config)
    try sim.start()
    sim.run(for: .seconds(2))
    let address = try MetadataAddress("bench/convergence")
    let version = try sim.put(0, address, .string("x"))
    let tick = sim.engines[0].config.dissemination.gossipTick
    let took = sim.run(
        until: { s in s.upNodes.allSatisfy { s.engines[$0].store.entry(address)?.versions.first == version } },
        step: tick, limit: .seconds(120))
    let bound = ceilLog(nodes, base: fanout)
    if let took {
        let rounds = Int((took / tick).rounded(.up))
        print(
            "convergence  N=\(nodes) fanout=\(fanout): \(rounds) rounds of \(tick.text) (\(format(seconds(took), 3)) s virtual); "
                + "bound ceil(log_\(fanout) N)=\(bound), target <= \(bound + 2); ratio \(format(Double(rounds) / Double(bound)))"
        )
    } else {
        print("convergence  N=\(nodes) fanout=\(fanout): did not converge within 120 s")
    }
}

// MARK: Anti-entropy bytes

func antiEntropy(entries: Int, differences: [Int]) throws {
    let t0 = Instant(nanoseconds: 1_000_000_000_000_000)
    func engine(_ i: Int, store: MetadataStore) throws -> Engine {
        let ids = [0, 1].map { SimulationConfig.nodeID($0) }
        let table = MemberTable(
            [0, 1].map {
                Member(
                    id: ids[$0], address: SimulationConfig.address($0), incarnation: 0, status: .alive,
                    statusChangedAt: t0)
            })
        var config = EngineConfig(nodeID: ids[i], address: SimulationConfig.address(i))
        config.antiEntropy.maxGossipPeers = 1
        var engine = try Engine(config: config, store: store, members: table, seed: 5, now: t0)
        _ = try engine.start(now: t0)
        return engine
    }
    var base = MetadataStore(limits: MetadataLimits())
    for i in 0..<entries {
        _ = try base.write(
            address: MetadataAddress(unchecked: "ucxl://agent:role@project:task/context/\(i)"),
            value: .object(["owner": .string("team-\(i % 97)"), "replicas": .number(Double(i % 5))]),
            status: .active, roles: ["reader"], replicationNodes: ["node-1", "node-2"], by: SimulationConfig.nodeID(9),
            at: t0)
    }
    let full = base.byteSize
    print("anti-entropy store of \(entries) entries: full store \(full) bytes")
    for diff in differences {
        var storeA = base
        var storeB = base
        for i in 0..<diff {
            let address = MetadataAddress(unchecked: "ucxl://agent:role@project:task/context/\(i * 97 % entries)")
            if i % 2 == 0 {
                _ = try storeA.write(
                    address: address, value: .string("changed on a"), status: .active, roles: [], replicationNodes: [],
                    by: SimulationConfig.nodeID(0), at: t0)
            } else {
                _ = try storeB.write(
                    address: address, value: .string("changed on b"), status: .active, roles: [], replicationNodes: [],
                    by: SimulationConfig.nodeID(1), at: t0)
            }
        }
        var a = try engine(0, store: storeA)
        var b = try engine(1, store: storeB)
        let start = clock.now
        let round = a.timerFired(Timer(key: .gossipRound, epoch: 1), now: t0 + .seconds(30))
        var pending: [(Int, Outbound)] = round.compactMap { if case .send(let o) = $0 { (0, o) } else { nil } }
        var bytes = 0
        var messages = 0
        while !pending.isEmpty {
            let (from, outbound) = pending.removeFirst()
            let sync = outbound.messages.filter { $0.type == .metadataSync }
            guard !sync.isEmpty else { continue }
            bytes += sync.reduce(0) { $0 + $1.wireSize }
            messages += sync.count
            let effects =
                from == 0
                ? b.receive(sync, from: a.config.address, transport: .stream, now: t0 + .seconds(30))
                : a.receive(sync, from: b.config.address, transport: .stream, now: t0 + .seconds(30))
            pending += effects.compactMap { if case .send(let o) = $0 { (1 - from, o) } else { nil } }
        }
        let elapsed = clock.now - start
        let converged = a.store.digest == b.store.digest
        print(
            "anti-entropy \(diff) differences: \(bytes) bytes in \(messages) messages = \(format(100 * Double(bytes) / Double(full), 3))% of the store; "
                + "converged \(converged); \(format(seconds(elapsed) * 1000, 1)) ms CPU; target < 1% at 10")
    }
}

// MARK: Dissemination, eager push against gossip ticks only

/// Writes at random nodes, one a second; for each, the virtual time until every node
/// holds it, and the bytes the cluster sent beyond an idle run of the same length and
/// seed. Returns (sorted times, bytes per write per node).
func spreadTimes(nodes: Int, writes: Int, eager: Bool?, hop: ClosedRange<Duration>) throws -> ([Duration], Double) {
    var config = SimulationConfig()
    config.nodes = nodes
    config.seed = 99
    config.latency = hop
    config.preloadMembership = true
    config.tune = {
        $0.membership.heartbeatInterval = .seconds(3600)
        $0.dissemination.eagerPush = eager ?? false
    }
    let sim = try Simulation(config)
    try sim.start()
    sim.run(for: .seconds(2))
    let bytesBefore = sim.tally.bytesSent.reduce(0, +)
    var times: [Duration] = []
    var pick = SeededGenerator(seed: 5)
    let started = sim.now
    for n in 0..<writes {
        let origin = Int(pick.next() % UInt64(nodes))
        let address = try MetadataAddress("bench/spread/\(n)")
        let at = started + .seconds(n)
        if sim.now < at { sim.run(until: at) }
        if eager != nil {
            let version = try sim.put(origin, address, .string("x"))
            let took = sim.run(
                until: { s in s.upNodes.allSatisfy { s.engines[$0].store.entry(address)?.versions.first == version } },
                step: .microseconds(250), limit: .seconds(30))
            times.append(took ?? .seconds(30))
        }
    }
    sim.run(until: started + .seconds(writes + 5))
    let bytes = Double(sim.tally.bytesSent.reduce(0, +) - bytesBefore)
    return (times.sorted(), bytes)
}

func dissemination(nodes: Int, writes: Int, hop: ClosedRange<Duration>) throws {
    let (_, idle) = try spreadTimes(nodes: nodes, writes: writes, eager: nil, hop: hop)
    let (ticks, tickBytes) = try spreadTimes(nodes: nodes, writes: writes, eager: false, hop: hop)
    let (eager, eagerBytes) = try spreadTimes(nodes: nodes, writes: writes, eager: true, hop: hop)
    func ms(_ d: Duration) -> String { format(seconds(d) * 1000, 1) }
    func quantile(_ times: [Duration], _ q: Double) -> Duration {
        times[min(times.count - 1, Int(Double(times.count) * q))]
    }
    let perWrite = { (bytes: Double) in (bytes - idle) / Double(writes) / Double(nodes) }
    let hops = "\(ms(hop.lowerBound))-\(ms(hop.upperBound)) ms a hop"
    print(
        "dissemination N=\(nodes), \(writes) writes, \(hops): eager push median \(ms(quantile(eager, 0.5))) ms, "
            + "p99 \(ms(quantile(eager, 0.99))) ms; ticks only median \(ms(quantile(ticks, 0.5))) ms, "
            + "p99 \(ms(quantile(ticks, 0.99))) ms; ratio \(format(seconds(quantile(eager, 0.5)) / seconds(quantile(ticks, 0.5)), 3)) "
            + "(p99 \(format(seconds(quantile(eager, 0.99)) / seconds(quantile(ticks, 0.99)), 3))); bytes per write per node "
            + "\(format(perWrite(eagerBytes), 0)) against \(format(perWrite(tickBytes), 0)) "
            + "(\(format(perWrite(eagerBytes) / perWrite(tickBytes))))")
}

// MARK: Simulator speed

func simulatorSpeed(nodes: Int, periods: Int) throws {
    var config = SimulationConfig()
    config.nodes = nodes
    config.seed = 77
    config.preloadMembership = true
    config.tune = { $0.membership.heartbeatInterval = .seconds(3600) }
    let build = clock.now
    let sim = try Simulation(config)
    try sim.start()
    let built = clock.now - build
    let start = clock.now
    sim.run(for: .seconds(periods))
    let elapsed = clock.now - start
    let sent = sim.tally.sent.reduce(0, +)
    print(
        "simulator    \(nodes) nodes x \(periods) probe periods: \(format(seconds(elapsed), 1)) s wall on one core "
            + "(\(format(Double(sent) / seconds(elapsed) / 1000, 0))k messages/s; build \(format(seconds(built), 1)) s); "
            + "target < 60 s; peak RSS \(format(peakResidentMB(), 0)) MB")
}

let args = CommandLine.arguments.dropFirst()
let only = args.first
if only == nil || only == "convergence" {
    for fanout in [3, 5] {
        try convergence(nodes: 1_000, fanout: fanout)
        try convergence(nodes: 10_000, fanout: fanout)
    }
}
if only == nil || only == "dissemination" {
    for nodes in [16, 64, 1_000] {
        try dissemination(nodes: nodes, writes: 20, hop: .microseconds(100)...(.microseconds(300)))
    }
    try dissemination(nodes: 64, writes: 20, hop: .milliseconds(1)...(.milliseconds(5)))
    try dissemination(nodes: 10_000, writes: 3, hop: .microseconds(100)...(.microseconds(300)))
}
if only == nil || only == "antientropy" {
    try antiEntropy(entries: 100_000, differences: [0, 10, 1_000])
}
if only == nil || only == "simulator" {
    try simulatorSpeed(nodes: 10_000, periods: 100)
}
