@testable import HearsayCore

/// Small builders shared by the core tests.
enum T {
    static let t0 = Instant(nanoseconds: 1_000_000 * 1_000_000_000)

    static func id(_ i: Int) -> NodeID { SimulationConfig.nodeID(i) }
    static func addr(_ i: Int) -> PeerAddress { SimulationConfig.address(i) }

    static func config(_ i: Int, _ tune: (inout EngineConfig) -> Void = { _ in }) -> EngineConfig {
        var config = EngineConfig(nodeID: id(i), address: addr(i))
        tune(&config)
        return config
    }

    /// A started engine for node `i` that already knows `peers` as alive.
    static func engine(
        _ i: Int = 0, peers: [Int] = [], seed: UInt64 = 42,
        _ tune: (inout EngineConfig) -> Void = { _ in }
    ) throws -> (Engine, [Effect]) {
        let table = MemberTable(
            ([i] + peers).map {
                Member(id: id($0), address: addr($0), incarnation: 0, status: .alive, statusChangedAt: t0)
            })
        var engine = try Engine(config: config(i, tune), members: table, seed: seed, now: t0)
        let effects = try engine.start(now: t0)
        return (engine, effects)
    }

    /// A message as node `i` would send it.
    static func message(from i: Int, _ payload: Payload, ttl: UInt8 = 1, id: UInt64 = 1)
        -> GossipMessage
    {
        GossipMessage(
            id: id, sender: T.id(i), timestamp: t0, ttl: ttl, payload: payload,
            metadata: MessageMetadata())
    }

    static func rumor(
        _ subject: Int, _ status: MemberStatus, incarnation: UInt64 = 0, reporter: Int? = nil
    ) -> MemberRumor {
        MemberRumor(
            subject: id(subject), address: addr(subject), incarnation: incarnation, status: status,
            reporter: reporter.map(id) ?? (status == .alive ? nil : id(99)))
    }

    static func address(_ text: String) -> MetadataAddress { MetadataAddress(unchecked: text) }
}

extension Array where Element == Effect {
    var sends: [Outbound] {
        compactMap { if case .send(let o) = $0 { o } else { nil } }
    }
    var timers: [(key: TimerKey, at: Instant)] {
        compactMap { if case .armTimer(let t, let at) = $0 { (t.key, at) } else { nil } }
    }
    var metrics: [MetricEvent] {
        compactMap { if case .metric(let m) = $0 { m } else { nil } }
    }
    var logs: [LogRecord] {
        compactMap { if case .log(let l) = $0 { l } else { nil } }
    }
    /// Every message sent, with its destination.
    var sentMessages: [(to: PeerAddress, message: GossipMessage)] {
        sends.flatMap { o in o.messages.map { (o.to, $0) } }
    }
    func timer(_ key: TimerKey) -> Instant? { timers.last(where: { $0.key == key })?.at }
}

extension Engine {
    /// The engine's timer for `key` in its current run.
    func timer(_ key: TimerKey) -> Timer { Timer(key: key, epoch: epoch) }
}

extension ContextMetadata {
    /// A version built directly, as a peer would have written it.
    static func make(
        address: MetadataAddress, value: JSONValue?, status: MetadataStatus = .active,
        roles: [String] = [],
        replicationNodes: [String] = [], clock: VectorClock, by writer: NodeID, at time: Instant
    ) -> ContextMetadata {
        ContextMetadata(
            address: address, value: value, status: status, roles: roles,
            replicationNodes: replicationNodes,
            vectorClock: clock, updatedBy: writer, lastUpdated: time)
    }
}

/// Long simulations for tests that share the runner's pool with tests of real agents.
/// The pool has one thread per core: a simulation that computes for minutes in one
/// call holds a thread all that time, and on a 2-core machine two of them stall every
/// other test, whose agents' timeouts then run out while nobody looks (as a blocking
/// query's did in CI). These run the same steps and give the thread back between them.
extension Simulation {
    /// `run(until:step:limit:)`, yielding after every step.
    func pacedRun(until condition: (Simulation) -> Bool, step: Duration, limit: Duration) async -> Duration? {
        let start = now
        while now - start <= limit {
            if condition(self) { return now - start }
            run(for: step)
            await Task.yield()
        }
        return condition(self) ? now - start : nil
    }

    /// `run(for:)` in steps of a second of virtual time, yielding after each.
    func pacedRun(for duration: Duration) async {
        let end = now + duration
        while now < end {
            run(until: min(end, now + .seconds(1)))
            await Task.yield()
        }
    }
}
