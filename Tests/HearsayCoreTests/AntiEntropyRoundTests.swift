import Testing

@testable import HearsayCore

@Suite struct AntiEntropyRoundTests {
    /// Delivers every frame between two engines (the opening digests go as datagrams,
    /// the rest streams) until they fall silent; returns the bytes of the metadata_sync
    /// messages exchanged.
    private func exchange(_ a: inout Engine, _ b: inout Engine, _ first: [Effect], now: Instant)
        -> Int
    {
        var pending = first.sends.map { (from: 0, outbound: $0) }
        var bytes = 0
        while !pending.isEmpty {
            let (from, outbound) = pending.removeFirst()
            let sync = outbound.messages.filter { $0.type == .metadataSync }
            bytes += sync.reduce(0) { $0 + $1.wireSize }
            guard !sync.isEmpty else { continue }
            let via = outbound.transport
            if from == 0 && outbound.to == b.config.address {
                pending += b.receive(sync, from: a.config.address, transport: via, now: now).sends.map {
                    (1, $0)
                }
            } else if from == 1 && outbound.to == a.config.address {
                pending += a.receive(sync, from: b.config.address, transport: via, now: now).sends.map {
                    (0, $0)
                }
            }
        }
        return bytes
    }

    private func fill(_ engine: inout Engine, count: Int, prefix: String = "e") throws {
        for i in 0..<count {
            _ = try engine.store.write(
                address: T.address("\(prefix)/\(i)"), value: .string("value \(i)"), status: .active,
                roles: ["r"],
                replicationNodes: [], by: T.id(9), at: T.t0)
        }
    }

    @Test func equalStoresSettleARoundWithTwoSmallMessages() throws {
        var (a, _) = try T.engine(0, peers: [1]) { $0.antiEntropy.maxGossipPeers = 1 }
        var (b, _) = try T.engine(1, peers: [0])
        try fill(&a, count: 2000)
        b.store = a.store
        let round = a.timerFired(a.timer(.gossipRound), now: T.t0 + .seconds(30))
        let bytes = exchange(&a, &b, round, now: T.t0 + .seconds(30))
        #expect(bytes < 64, "equal stores moved \(bytes) bytes")
        #expect(a.statistics(now: T.t0).completedRounds == 1)
    }

    @Test func aRoundMovesBytesThatFollowTheDifferencesNotTheStore() throws {
        var (a, _) = try T.engine(0, peers: [1]) { $0.antiEntropy.maxGossipPeers = 1 }
        var (b, _) = try T.engine(1, peers: [0])
        try fill(&a, count: 10_000)
        b.store = a.store
        try fill(&a, count: 10, prefix: "only-a")
        try fill(&b, count: 5, prefix: "only-b")
        // The same address written on both sides: concurrent versions.
        _ = try a.store.write(
            address: T.address("e/7"), value: .string("a"), status: .active, roles: [],
            replicationNodes: [], by: T.id(0), at: T.t0)
        _ = try b.store.write(
            address: T.address("e/7"), value: .string("b"), status: .active, roles: [],
            replicationNodes: [], by: T.id(1), at: T.t0)
        let round = a.timerFired(a.timer(.gossipRound), now: T.t0 + .seconds(30))
        let bytes = exchange(&a, &b, round, now: T.t0 + .seconds(30))
        #expect(a.store.digest == b.store.digest)
        #expect(a.store.count == 10_015)
        #expect(a.store.entry(T.address("e/7"))?.status == .conflicted)
        #expect(
            Double(bytes) < 0.02 * Double(a.store.byteSize), "moved \(bytes) of \(a.store.byteSize)")
        #expect(a.statistics(now: T.t0).completedRounds == 1)
    }

    @Test func aVersionThisStoreRefusesIsCountedAndTheRestOfTheSessionStillApplies() throws {
        // A peer configured with a larger value limit: its first version is over ours.
        var (a, _) = try T.engine(0, peers: [1]) {
            $0.antiEntropy.maxGossipPeers = 1
            $0.metadataLimits.maxValueBytes = 64
        }
        var (b, _) = try T.engine(1, peers: [0])
        _ = try b.store.write(
            address: T.address("a/big"), value: .string(String(repeating: "x", count: 200)), status: .active,
            roles: [], replicationNodes: [], by: T.id(1), at: T.t0)
        try fill(&b, count: 20)
        try fill(&a, count: 3, prefix: "only-a")
        let now = T.t0 + .seconds(30)
        var effects = a.timerFired(a.timer(.gossipRound), now: now)
        var pending = effects.sends.map { (from: 0, outbound: $0) }
        while !pending.isEmpty {
            let (from, outbound) = pending.removeFirst()
            let sync = outbound.messages.filter { $0.type == .metadataSync }
            guard !sync.isEmpty else { continue }
            let via = outbound.transport
            if from == 0 {
                pending += b.receive(sync, from: a.config.address, transport: via, now: now).sends.map { (1, $0) }
            } else {
                let answer = a.receive(sync, from: b.config.address, transport: via, now: now)
                effects += answer
                pending += answer.sends.map { (0, $0) }
            }
        }
        // Every other version arrived, and the peer got what it asked for.
        #expect(a.store.count == 23)
        #expect(a.store.entry(T.address("a/big")) == nil)
        #expect(b.store.count == 24)
        // The session completed, and the refusal was counted and said why.
        #expect(a.statistics(now: now).completedRounds == 1)
        #expect(effects.metrics.contains(.messageDropped(type: .metadataSync, reason: .rejected)))
        #expect(
            effects.logs.contains {
                $0.event == "version_rejected" && $0.fields.contains(LogField("address", "a/big"))
            })
        #expect(a.statistics(now: now).protocolErrors == 0, "a peer's other limits are no protocol error")
    }

    @Test func anOpeningDigestLostAsADatagramGoesAgainOverAStream() throws {
        var (a, _) = try T.engine(0, peers: [1]) { $0.antiEntropy.maxGossipPeers = 1 }
        var (b, _) = try T.engine(1, peers: [0])
        try fill(&a, count: 5)
        let start = T.t0 + .seconds(30)
        let round = a.timerFired(a.timer(.gossipRound), now: start)
        let opening = round.sends.filter { $0.messages.contains { $0.type == .metadataSync } }
        #expect(opening.map(\.transport) == [.datagram], "the opening digest is a datagram")
        let session = try #require(
            opening.flatMap(\.messages).compactMap { message -> UInt64? in
                if case .metadataSync(let sync) = message.payload { return sync.session }
                return nil
            }.first)
        // It is lost: halfway through the round's time, the digest goes again as a stream.
        let retry = a.timerFired(a.timer(.syncRoot(session: session)), now: start + .seconds(5))
        let again = retry.sends.filter { $0.messages.contains { $0.type == .metadataSync } }
        #expect(again.map(\.transport) == [.stream])
        _ = exchange(&a, &b, retry, now: start + .seconds(5))
        #expect(b.store.count == 5 && a.statistics(now: start).completedRounds == 1)
        // Answered, the exchange asks nothing more when its timer fires.
        #expect(a.timerFired(a.timer(.syncRoot(session: session)), now: start + .seconds(6)).sends.isEmpty)
        // The datagram was only late: its answer arrives after the session ended, and is
        // no drop.
        let late = b.receive(
            opening.flatMap(\.messages).filter { $0.type == .metadataSync }, from: a.config.address,
            transport: .datagram, now: start + .seconds(6))
        let answer = late.sends.flatMap(\.messages).filter { $0.type == .metadataSync }
        #expect(!answer.isEmpty)
        let effects = a.receive(answer, from: b.config.address, transport: .datagram, now: start + .seconds(6))
        #expect(!effects.metrics.contains { if case .messageDropped = $0 { true } else { false } })
        #expect(a.statistics(now: start).completedRounds == 1)
    }

    @Test func roundDurationsAreMeasuredAndTheAverageIsATrueMean() throws {
        var config = SimulationConfig()
        config.nodes = 4
        config.preloadMembership = true
        config.latency = .milliseconds(10)...(.milliseconds(30))
        config.tune = { $0.antiEntropy.gossipInterval = .seconds(2) }
        let sim = try Simulation(config)
        try sim.start()
        for i in 0..<4 { try sim.put(i, T.address("k/\(i)"), .number(Double(i))) }
        sim.run(for: .seconds(20))
        let stats = sim.engines[0].statistics(now: sim.now)
        #expect(stats.completedRounds >= 8)
        #expect(stats.averageRoundTime == stats.totalRoundTime / Int(stats.completedRounds))
        // A round is at least one round trip on the virtual network.
        #expect(sim.engines[0].state.roundDuration >= .milliseconds(20))
        #expect(stats.averageRoundTime >= .milliseconds(20))
        #expect(stats.averageRoundTime < .seconds(1))
    }
}
