import ArgumentParser
import HearsayCore

/// `hearsay simulate`: runs a cluster of engines on the deterministic virtual network.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run a simulated cluster in virtual time and report convergence, traffic and failure detection.",
        discussion: """
            The same protocol engine as the agent runs N nodes on a virtual network with \
            datagram loss, delay and partitions. The scenario: the nodes join through \
            node 0; node 0 writes an entry and the run measures how long it takes to reach \
            every node; with --kill, nodes are killed and the run measures how long until \
            every other node marks them failed; with --partition, the cluster is split in \
            halves, both sides write the same address, and after healing the run measures \
            how long until every store has the same digest. The same --seed gives the same run.
            """)

    @Option(help: "Number of nodes.")
    var nodes: Int = 16

    @Option(help: "Probability (0 to 0.9) that a datagram is lost.")
    var loss: Double = 0

    @Option(help: "One-way network delay, as min-max in milliseconds.")
    var latency: String = "1-5"

    @Option(help: "Members each gossip tick and each push reaches.")
    var fanout: Int = 3

    @Option(help: "Probe interval (SWIM), e.g. 1s or 500ms.")
    var probeInterval: String = "1s"

    @Option(help: "The Go original's gossip round interval for anti-entropy, 1s to 1h.")
    var gossipInterval: String = "30s"

    @Option(help: "How many nodes to kill after the write has spread.")
    var kill: Int = 1

    @Option(help: "Split the cluster in halves for this long (e.g. 30s); 0 for no partition.")
    var partition: String = "0"

    @Option(help: "The most virtual time each phase may take.")
    var phaseLimit: String = "10m"

    @Option(help: "Random seed of the whole run.")
    var seed: UInt64 = 1

    @Flag(help: "Start with full membership instead of joining (for thousands of nodes).")
    var preload = false

    @Flag(help: "Print every membership and conflict event as it happens.")
    var verbose = false

    func validate() throws {
        guard (2...100_000).contains(nodes) else { throw ValidationError("--nodes must be 2 to 100000, got \(nodes)") }
        guard (0...0.9).contains(loss) else { throw ValidationError("--loss must be 0 to 0.9, got \(loss)") }
        guard (1...64).contains(fanout) else { throw ValidationError("--fanout must be 1 to 64, got \(fanout)") }
        guard (0..<nodes - 1).contains(kill) else {
            throw ValidationError("--kill must be 0 to \(nodes - 2), got \(kill)")
        }
        _ = try settings()
    }

    private struct Settings {
        var probe: Duration
        var round: Duration
        var partition: Duration
        var limit: Duration
        var latency: ClosedRange<Duration>
    }

    private func settings() throws -> Settings {
        let parts = latency.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 2, parts[0] >= 0, parts[0] <= parts[1] else {
            throw ValidationError("--latency must be min-max in milliseconds such as 1-5, got \(latency)")
        }
        do {
            let round = try Duration(parsing: gossipInterval, setting: "gossip interval")
            guard EngineConfig.gossipIntervalRange.contains(round) else {
                throw HearsayCore.ValidationError(
                    setting: "gossip interval", value: gossipInterval, allowed: "1s to 1h")
            }
            return Settings(
                probe: try Duration(parsing: probeInterval, setting: "probe interval"), round: round,
                partition: try Duration(parsing: partition, setting: "partition"),
                limit: try Duration(parsing: phaseLimit, setting: "phase limit"),
                latency: .milliseconds(parts[0])...(.milliseconds(parts[1])))
        } catch let error as HearsayCore.ValidationError {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        let s = try settings()
        var config = SimulationConfig()
        config.nodes = nodes
        config.seed = seed
        config.loss = loss
        config.latency = s.latency
        config.preloadMembership = preload
        let fanout = fanout
        config.tune = { engine in
            engine.dissemination.gossipNodes = fanout
            engine.failureDetection.probeInterval = s.probe
            engine.failureDetection.probeTimeout = s.probe / 2
            engine.antiEntropy.gossipInterval = s.round
        }
        let sim = try Simulation(config)
        let verbose = verbose
        sim.onLog = { node, time, record in
            guard verbose, record.level >= .notice || record.event.hasPrefix("member_") else { return }
            let fields = record.fields.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            print("  [\(Report.clock(time, from: sim))] node-\(node) \(record.event) \(fields)")
        }
        let report = Report(sim: sim, nodes: nodes)
        print("hearsay simulate: \(nodes) nodes, loss \(loss), latency \(latency) ms, fanout \(fanout), seed \(seed)")
        try sim.start()
        report.phase("membership: every node sees \(nodes) alive", limit: s.limit) { sim in
            sim.upNodes.allSatisfy { sim.engines[$0].members.count(.alive) == nodes }
        }

        let address = try MetadataAddress("hearsay://demo/greeting")
        let version = try sim.put(0, address, .string("hello from node-0"))
        let tick = sim.engines[0].config.dissemination.gossipTick
        if let took = report.phase(
            "write: node-0's write reaches every node", limit: s.limit,
            { sim in
                sim.upNodes.allSatisfy { sim.engines[$0].store.entry(address)?.versions.contains(version) == true }
            })
        {
            print(
                "    \(Int((took / tick).rounded(.up))) gossip ticks of \(tick.text); bound ceil(log_\(fanout) N) = \(Report.ceilLog(nodes, base: fanout))"
            )
        }

        let victims = Array((nodes - kill)..<nodes)
        if !victims.isEmpty {
            for victim in victims { sim.kill(victim) }
            let ids = Set(victims.map { SimulationConfig.nodeID($0) })
            report.phase("failure: \(victims.count) killed node(s) marked failed everywhere", limit: s.limit) { sim in
                sim.upNodes.allSatisfy { node in
                    ids.allSatisfy { sim.engines[node].members[$0]?.status == .failed }
                }
            }
        }

        if s.partition > .zero {
            let live = sim.upNodes
            let halves = [Array(live.prefix(live.count / 2)), Array(live.dropFirst(live.count / 2))]
            sim.partition(halves)
            print("  partition: \(halves[0].count) | \(halves[1].count) nodes for \(s.partition.text)")
            let contested = try MetadataAddress("hearsay://demo/contested")
            try sim.put(halves[0][0], contested, .string("written on the left"))
            try sim.put(halves[1][0], contested, .string("written on the right"))
            sim.run(for: s.partition)
            sim.heal()
            report.phase("heal: every store has the same digest, membership whole again", limit: s.limit) { sim in
                let digests = Set(sim.upNodes.map { sim.engines[$0].store.digest })
                return digests.count == 1
                    && sim.upNodes.allSatisfy { sim.engines[$0].members.count(.alive) == live.count }
            }
            let entry = sim.engines[live[0]].store.entry(contested)
            print(
                "    contested entry: status \(entry?.status.rawValue ?? "missing"), \(entry?.versions.count ?? 0) versions kept"
            )
        }
        report.summary()
    }
}

/// Prints phases and the closing figures of a simulation.
private final class Report {
    let sim: Simulation
    let nodes: Int
    let start: Instant

    init(sim: Simulation, nodes: Int) {
        self.sim = sim
        self.nodes = nodes
        self.start = sim.now
    }

    @discardableResult
    func phase(_ name: String, limit: Duration, _ condition: (Simulation) -> Bool) -> Duration? {
        let bytesBefore = sim.tally.bytesSent.reduce(0, +)
        let dropsBefore = sim.tally.drops[.bufferFull, default: 0]
        let took = sim.run(until: condition, step: .milliseconds(50), limit: limit)
        if let took {
            print("  \(name): \(took.text) (at \(Report.clock(sim.now, from: sim)))")
        } else {
            print("  \(name): NOT reached within \(limit.text)")
        }
        // What the phase cost, so that a faster phase is not bought with a flood.
        let bytes = Double(sim.tally.bytesSent.reduce(0, +) - bytesBefore) / Double(nodes)
        let drops = sim.tally.drops[.bufferFull, default: 0] - dropsBefore
        print("    per node: \(fmt(bytes / 1024)) KiB sent; broadcasts dropped by full buffers: \(drops)")
        return took
    }

    func summary() {
        let elapsed = max((sim.now - start).seconds, 1e-9)
        let t = sim.tally
        let n = Double(nodes)
        let falseDetections = t.failures.filter(\.isFalse).count
        print("summary after \(Report.clock(sim.now, from: sim)) of virtual time:")
        print(
            "  per node: \(fmt(Double(t.sent.reduce(0, +)) / n / elapsed)) messages/s, \(fmt(Double(t.bytesSent.reduce(0, +)) / n / elapsed)) bytes/s sent"
        )
        print(
            "  gossip rounds completed: \(t.rounds); suspicions: \(t.suspicions); refutations: \(t.refutations); conflicts seen: \(t.conflicts)"
        )
        print("  datagrams lost by the network: \(t.lostDatagrams); dropped by nodes: \(t.drops.values.reduce(0, +))")
        print("  failure declarations: \(t.failures.count), false (a live node, no partition): \(falseDetections)")
    }

    private func fmt(_ x: Double) -> String {
        let scaled = (x * 10).rounded() / 10
        return "\(scaled)"
    }

    static func clock(_ time: Instant, from sim: Simulation) -> String {
        let ms = (time - sim.origin).nanoseconds / 1_000_000
        return "t+\(Double(ms) / 1000)s"
    }

    static func ceilLog(_ n: Int, base: Int) -> Int {
        var power = 1
        var k = 0
        while power < n {
            power *= max(2, base)
            k += 1
        }
        return k
    }
}
