import Testing

@testable import HearsayCore

/// The digest-first member-list exchange of gossip rounds, and the joins that still
/// send whole lists.
@Suite struct MemberListExchangeTests {
    private static func member(_ i: Int, _ status: MemberStatus = .alive, incarnation: UInt64 = 0) -> Member {
        Member(id: T.id(i), address: T.addr(i), incarnation: incarnation, status: status, statusChangedAt: T.t0)
    }

    /// A started engine for node `i` whose table holds exactly `members`.
    private static func engine(_ i: Int, _ members: [Member]) throws -> Engine {
        var engine = try Engine(
            config: T.config(i) { $0.antiEntropy.maxGossipPeers = 1 }, members: MemberTable(members), seed: 7, now: T.t0
        )
        _ = try engine.start(now: T.t0)
        return engine
    }

    /// The peer_discovery payloads of `effects`, with their destinations.
    private static func discoveries(_ effects: [Effect]) -> [(to: PeerAddress, discovery: PeerDiscovery)] {
        effects.sentMessages.compactMap {
            if case .peerDiscovery(let d) = $0.message.payload { ($0.to, d) } else { nil }
        }
    }

    /// Delivers every peer_discovery message between `a` and `b`, starting with
    /// `first` (sent by `a`), until they fall silent; returns them in order, each with
    /// the index of its sender (0 for `a`).
    private static func exchange(_ a: inout Engine, _ b: inout Engine, _ first: [Effect]) -> [(
        from: Int, discovery: PeerDiscovery
    )] {
        var pending = first.sentMessages.filter { $0.message.type == .peerDiscovery }.map { (from: 0, sent: $0) }
        var log: [(from: Int, discovery: PeerDiscovery)] = []
        while !pending.isEmpty {
            let (from, sent) = pending.removeFirst()
            guard case .peerDiscovery(let discovery) = sent.message.payload else { continue }
            log.append((from, discovery))
            let now = T.t0 + .seconds(30)
            let effects =
                from == 0
                ? b.receive([sent.message], from: a.config.address, transport: .stream, now: now)
                : a.receive([sent.message], from: b.config.address, transport: .stream, now: now)
            pending += effects.sentMessages.filter { $0.message.type == .peerDiscovery }.map { (1 - from, $0) }
        }
        return log
    }

    @Test func theListDigestIgnoresOrderAndFollowsEveryChange() {
        let members = (0..<50).map { Self.member($0) }
        var table = MemberTable(members)
        #expect(table.digest == MemberTable(members.reversed()).digest)
        let original = table.digest
        table.update(T.id(3)) { $0.statusChangedAt = T.t0 + .seconds(5) }
        #expect(table.digest == original, "local times are not part of the list's content")
        table.update(T.id(3)) { $0.status = .suspect }
        #expect(table.digest != original)
        table.update(T.id(3)) { $0.status = .alive }
        #expect(table.digest == original)
        table.upsert(Self.member(7, incarnation: 2))
        #expect(table.digest != original)
        table.upsert(Self.member(7))
        #expect(table.digest == original)
        var moved = Self.member(9)
        moved.address = T.addr(900)
        table.upsert(moved)
        #expect(table.digest != original)
        table.upsert(Self.member(9))
        table.remove(T.id(20))
        #expect(table.digest == MemberTable(members.filter { $0.id != T.id(20) }).digest)
        table.upsert(Self.member(20))
        #expect(table.digest == original)
    }

    @Test func aRoundOpensItsMemberListExchangeWithADigest() throws {
        var a = try Self.engine(0, (0..<3).map { Self.member($0) })
        let round = a.timerFired(a.timer(.gossipRound), now: T.t0 + .seconds(30))
        let sent = Self.discoveries(round)
        #expect(sent.count == 1)
        #expect(sent.first?.discovery == .digest(a.members.digest))
        #expect(sent.allSatisfy { $0.discovery.members.isEmpty }, "no records before the lists are compared")
    }

    @Test func equalListsExchangeNoRecords() throws {
        let members = (0..<20).map { Self.member($0) }
        var a = try Self.engine(0, members)
        var b = try Self.engine(1, members)
        let round = a.timerFired(a.timer(.gossipRound), now: T.t0 + .seconds(30))
        let log = Self.exchange(&a, &b, round)
        #expect(log.map(\.discovery) == [.digest(a.members.digest), .inSync])
        let bytes = log.reduce(0) { $0 + $1.discovery.wireSize }
        #expect(bytes <= 10, "equal lists moved \(bytes) payload bytes")
    }

    @Test func differingListsAreExchangedWholeAndMergedBothWays() throws {
        // a holds a tombstone for 2 that b has not heard of; b knows 3, a does not.
        var a = try Self.engine(0, [Self.member(0), Self.member(1), Self.member(2, .left)])
        var b = try Self.engine(1, [Self.member(0), Self.member(1), Self.member(2), Self.member(3)])
        let round = a.timerFired(a.timer(.gossipRound), now: T.t0 + .seconds(30))
        let log = Self.exchange(&a, &b, round)
        #expect(log.count == 3)
        guard log.count == 3, case .request(let fromB) = log[1].discovery,
            case .response(let fromA) = log[2].discovery
        else {
            Issue.record("expected digest, request, response; got \(log.map(\.discovery))")
            return
        }
        #expect(log[1].from == 1 && log[2].from == 0)
        #expect(Set(fromB.map(\.subject)) == Set([0, 1, 2, 3].map(T.id)))
        #expect(Set(fromA.map(\.subject)) == Set([0, 1, 2, 3].map(T.id)))
        #expect(a.members[T.id(3)]?.status == .alive)
        #expect(b.members[T.id(2)]?.status == .left, "the tombstone crossed over")
        #expect(a.members.digest == b.members.digest)
        // Learned from a list, not announced: 3 stays quiet until its own rumor comes by.
        #expect(!a.dissemination.queue.contains(.member(T.id(3))))
        #expect(a.membership.unrelayed.contains(T.id(3)))
    }

    @Test func aNodeWithANearEmptyListGetsTheWholeListFromADigest() throws {
        var seed = try Self.engine(0, (0..<40).map { Self.member($0) })
        var fresh = try Self.engine(50, [Self.member(0), Self.member(50)])
        let digest = T.message(from: 0, .peerDiscovery(.digest(seed.members.digest)))
        let answer = fresh.receive([digest], from: T.addr(0), transport: .stream, now: T.t0)
        let log = Self.exchange(&fresh, &seed, answer)
        guard log.count == 2, case .request = log[0].discovery, case .response(let list) = log[1].discovery else {
            Issue.record("expected request, response; got \(log.map(\.discovery))")
            return
        }
        #expect(list.count == 41)
        #expect(fresh.members.count == 41)
        #expect(seed.members[T.id(50)]?.status == .alive)
        #expect(seed.members.digest == fresh.members.digest)
    }

    @Test func aJoinStillSendsAndReceivesWholeLists() throws {
        var seed = try Self.engine(0, (0..<40).map { Self.member($0) })
        var joiner = try Engine(config: T.config(50), seed: 1, now: T.t0)
        _ = try joiner.start(now: T.t0)
        let join = try joiner.join(seeds: [T.addr(0)], now: T.t0)
        guard case .request(let records) = Self.discoveries(join).first?.discovery else {
            Issue.record("a join must send its list, not a digest")
            return
        }
        #expect(records.map(\.subject) == [T.id(50)])
        let answer = seed.receive(join.sentMessages.map(\.message), from: T.addr(50), transport: .stream, now: T.t0)
        guard case .response(let list) = Self.discoveries(answer).first?.discovery else {
            Issue.record("the seed must answer a join with its whole list")
            return
        }
        #expect(list.count == 41)
        _ = joiner.receive(answer.sentMessages.map(\.message), from: T.addr(0), transport: .stream, now: T.t0)
        #expect(joiner.state.joined)
        #expect(joiner.members.count == 41)
    }

    @Test func aReconnectToAFailedMemberSendsADigest() throws {
        var a = try Self.engine(0, [Self.member(0), Self.member(2, .failed)])
        let round = a.timerFired(a.timer(.gossipRound), now: T.t0 + .seconds(30))
        let sent = Self.discoveries(round)
        #expect(sent.map(\.to) == [T.addr(2)])
        #expect(sent.first?.discovery == .digest(a.members.digest))
    }
}
