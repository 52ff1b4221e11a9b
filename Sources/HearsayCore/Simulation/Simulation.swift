/// N engines on a virtual network with per-link loss, delay and partitions, in virtual
/// time, reproducible from one random seed.
///
/// It executes the engines' effects the way the node runtime does, but with a
/// priority queue for a clock: datagrams may be lost, streams arrive unless a
/// partition cuts them, a killed node neither answers nor fires its timers.
public final class Simulation {
    /// Virtual time now.
    public private(set) var now: Instant
    /// Virtual time when the simulation was built.
    public let origin: Instant
    /// Every node's engine, by index.
    public private(set) var engines: [Engine]
    /// Whether each node's process is up (not killed, not stopped after leaving).
    public private(set) var up: [Bool]
    /// Traffic and events counted so far.
    public private(set) var tally: SimulationTally
    /// Called with each log record: node index, time, record.
    public var onLog: ((Int, Instant, LogRecord) -> Void)?

    let config: SimulationConfig
    private var queue = EventQueue<Event>()
    private var network: SeededGenerator
    private var addressIndex: [PeerAddress: Int]
    private var group: [Int]?
    /// Bumped when a node's process dies, so that its pending timers and deliveries
    /// die with it and a restarted process starts clean.
    private var life: [Int]
    private var loss: Double

    private enum Event {
        case deliver(node: Int, life: Int, messages: [GossipMessage], from: PeerAddress, transport: Transport)
        case timer(node: Int, life: Int, Timer)
    }

    /// Builds the cluster; nothing runs until `start`.
    public init(_ config: SimulationConfig) throws(EngineError) {
        self.config = config
        self.origin = Instant(nanoseconds: 1_700_000_000 * 1_000_000_000)
        self.now = origin
        self.network = SeededGenerator(seed: config.seed)
        self.loss = config.loss
        self.tally = SimulationTally(nodes: config.nodes)
        let start = origin
        var shared = MemberTable()
        if config.preloadMembership {
            shared = MemberTable(
                (0..<config.nodes).map {
                    Member(
                        id: SimulationConfig.nodeID($0), address: SimulationConfig.address($0), incarnation: 0,
                        status: .alive, statusChangedAt: start)
                })
        }
        var engines: [Engine] = []
        var addressIndex: [PeerAddress: Int] = [:]
        engines.reserveCapacity(config.nodes)
        for i in 0..<config.nodes {
            var engineConfig = EngineConfig(nodeID: SimulationConfig.nodeID(i), address: SimulationConfig.address(i))
            config.tune(&engineConfig)
            addressIndex[engineConfig.address] = i
            engines.append(
                try Engine(config: engineConfig, members: shared, seed: config.seed &+ UInt64(i) &* 7919, now: start))
        }
        self.engines = engines
        self.addressIndex = addressIndex
        self.up = Array(repeating: false, count: config.nodes)
        self.life = Array(repeating: 0, count: config.nodes)
    }

    /// Starts every node; without preloaded membership, nodes 1... join through node 0,
    /// a few milliseconds apart.
    public func start() throws(EngineError) {
        for i in engines.indices {
            try startNode(i)
        }
        guard !config.preloadMembership else { return }
        for i in engines.indices.dropFirst() {
            execute(i, try engines[i].join(seeds: [SimulationConfig.address(0)], now: now))
        }
    }

    /// Starts (or restarts after `kill`) node `index`.
    public func startNode(_ index: Int) throws(EngineError) {
        up[index] = true
        execute(index, try engines[index].start(now: now))
    }

    /// Stops node `index` like SIGKILL: no goodbye, no more answers or timers.
    public func kill(_ index: Int) {
        up[index] = false
        life[index] += 1
        _ = try? engines[index].stop(now: now)
    }

    /// Restarts a killed node with its state as it was (as from its data dir) and a
    /// higher incarnation, and joins it through `seed`.
    public func restart(_ index: Int, joiningThrough seed: Int) throws(EngineError) {
        var engine = engines[index]
        engine = try Engine(
            config: engine.config, incarnation: engine.incarnation + 1, store: engine.store,
            seed: config.seed &+ UInt64(index) &* 104_729, now: now, wallClock: engine.wallClock(at: now))
        engines[index] = engine
        try startNode(index)
        execute(index, try engines[index].join(seeds: [SimulationConfig.address(seed)], now: now))
    }

    /// Sets node `index`'s wall clock `step` away from where it is (an operator or NTP
    /// setting it); its protocol time runs on unchanged, as a monotonic clock does.
    public func stepWallClock(_ index: Int, by step: Duration) {
        engines[index].setWallClock(engines[index].wallClock(at: now) + step, at: now)
    }

    /// Makes node `index` leave gracefully; it stops once its leave has spread.
    public func leave(_ index: Int) throws(EngineError) {
        execute(index, try engines[index].leave(now: now))
    }

    /// Writes on node `index`.
    @discardableResult
    public func put(_ index: Int, _ address: MetadataAddress, _ value: JSONValue?) throws(EngineError)
        -> ContextMetadata
    {
        let (version, effects) = try engines[index].put(address, value: value, now: now)
        execute(index, effects)
        return version
    }

    /// Deletes on node `index`, leaving a tombstone.
    @discardableResult
    public func delete(_ index: Int, _ address: MetadataAddress) throws(EngineError) -> ContextMetadata {
        let (version, effects) = try engines[index].delete(address, now: now)
        execute(index, effects)
        return version
    }

    /// Cuts the network into `groups`: nodes in different groups cannot reach each
    /// other. Nodes in no group are isolated.
    public func partition(_ groups: [[Int]]) {
        var assignment = Array(0..<engines.count).map { -1 - $0 }
        for (g, members) in groups.enumerated() {
            for node in members { assignment[node] = g }
        }
        group = assignment
    }

    /// Removes any partition.
    public func heal() {
        group = nil
    }

    /// Changes the datagram loss probability of every link.
    public func setLoss(_ probability: Double) {
        loss = probability
    }

    /// Runs until virtual time `deadline`.
    public func run(until deadline: Instant) {
        while let next = queue.nextTime, next <= deadline {
            let (time, event) = queue.pop()!
            now = time
            switch event {
            case .deliver(let node, let generation, let messages, let from, let transport):
                guard up[node], generation == life[node] else { continue }
                tally.received[node] += messages.count
                execute(node, engines[node].receive(messages, from: from, transport: transport, now: now))
            case .timer(let node, let generation, let timer):
                guard up[node], generation == life[node] else { continue }
                execute(node, engines[node].timerFired(timer, now: now))
            }
        }
        now = max(now, deadline)
    }

    /// Runs for `duration` of virtual time.
    public func run(for duration: Duration) {
        run(until: now + duration)
    }

    /// Runs in steps of `step` until `condition` holds, for at most `limit`; returns
    /// the virtual time it took, or nil if it never held.
    public func run(until condition: (Simulation) -> Bool, step: Duration, limit: Duration) -> Duration? {
        let start = now
        while now - start <= limit {
            if condition(self) { return now - start }
            run(for: step)
        }
        return condition(self) ? now - start : nil
    }

    /// Indices of the nodes that are up.
    public var upNodes: [Int] { engines.indices.filter { up[$0] } }

    private func execute(_ node: Int, _ effects: [Effect]) {
        for effect in effects {
            switch effect {
            case .send(let outbound):
                transmit(outbound, from: node)
            case .armTimer(let timer, let at):
                queue.push(.timer(node: node, life: life[node], timer), at: at)
            case .metric(let event):
                tally.record(event)
            case .log(let record):
                if record.event == "member_failed", let member = record["member"] {
                    tally.failures.append(
                        FailureDeclaration(
                            observer: node, subject: member, at: now, subjectWasUp: subjectIsUp(member),
                            duringPartition: group != nil))
                }
                onLog?(node, now, record)
            case .stored:
                // The simulated nodes keep their stores in memory.
                break
            case .leaveCompleted:
                _ = try? engines[node].stop(now: now)
                up[node] = false
                life[node] += 1
            }
        }
    }

    private func subjectIsUp(_ id: String) -> Bool {
        guard let index = engines.firstIndex(where: { $0.config.nodeID.rawValue == id }) else { return false }
        return up[index]
    }

    private func transmit(_ outbound: Outbound, from node: Int) {
        let bytes = outbound.wireSize + engines[node].config.dissemination.frameOverheadBytes
        tally.sent[node] += outbound.messages.count
        tally.bytesSent[node] += bytes
        if outbound.transport == .stream { tally.largestStreamFrame = max(tally.largestStreamFrame, bytes) }
        guard let target = addressIndex[outbound.to], up[target] else { return }
        if let group, group[node] != group[target] { return }
        if outbound.transport == .datagram && loss > 0 && Double.random(in: 0..<1, using: &network) < loss {
            tally.lostDatagrams += 1
            return
        }
        let low = config.latency.lowerBound.nanoseconds
        let high = config.latency.upperBound.nanoseconds
        let delay = high > low ? Int64.random(in: low...high, using: &network) : low
        queue.push(
            .deliver(
                node: target, life: life[target], messages: outbound.messages, from: engines[node].config.address,
                transport: outbound.transport),
            at: now + .nanoseconds(delay))
    }
}

/// A failure declaration seen in a simulation: `observer` marked `subject` failed.
public struct FailureDeclaration: Sendable, Equatable {
    /// The node that declared.
    public var observer: Int
    /// The declared node's id.
    public var subject: String
    /// When.
    public var at: Instant
    /// Whether the declared node was in fact up: a false detection unless a partition
    /// separated the two.
    public var subjectWasUp: Bool
    /// Whether a partition was in force.
    public var duringPartition: Bool

    /// A live node declared failed with no partition to explain it.
    public var isFalse: Bool { subjectWasUp && !duringPartition }
}

/// What a simulation counted.
public struct SimulationTally: Sendable {
    /// Messages sent by each node.
    public var sent: [Int]
    /// Messages delivered to each node.
    public var received: [Int]
    /// Bytes each node sent, frame overhead included.
    public var bytesSent: [Int]
    /// Datagrams the network lost.
    public var lostDatagrams = 0
    /// The largest stream frame any node sent, in bytes: what one exchange holds in memory.
    public var largestStreamFrame = 0
    /// Every failure declaration, in order.
    public var failures: [FailureDeclaration] = []
    /// Counter events by metric.
    public var suspicions = 0
    public var refutations = 0
    public var conflicts = 0
    public var drops: [DropReason: Int] = [:]
    public var rounds = 0

    init(nodes: Int) {
        sent = Array(repeating: 0, count: nodes)
        received = Array(repeating: 0, count: nodes)
        bytesSent = Array(repeating: 0, count: nodes)
    }

    mutating func record(_ event: MetricEvent) {
        switch event {
        case .suspicionRaised: suspicions += 1
        case .refuted: refutations += 1
        case .metadataConflict: conflicts += 1
        case .messageDropped(_, let reason): drops[reason, default: 0] += 1
        case .gossipRound: rounds += 1
        default: break
        }
    }
}
