import Testing

@testable import HearsayCore

@Suite struct MetadataEngineTests {
    @Test func aWriteIsPushedAtOnceToGossipNodesPeers() throws {
        var (engine, _) = try T.engine(0, peers: [1, 2, 3, 4, 5])
        let (version, effects) = try engine.put(T.address("app/a"), value: .number(1), now: T.t0)
        #expect(version.vectorClock[T.id(0)] == 1)
        let pushed = effects.sentMessages.filter { $0.message.type == .contextUpdate }
        #expect(Set(pushed.map(\.to)).count == 3)
        #expect(effects.metrics.contains(.metadataUpdated(origin: .local)))
    }

    @Test func everyVersionThatEntersTheStoreIsReportedForPersistence() throws {
        var (writer, _) = try T.engine(1, peers: [0])
        let (version, local) = try writer.put(T.address("app/a"), value: .string("x"), now: T.t0)
        #expect(local.contains(.stored(version)))
        var (engine, _) = try T.engine(0, peers: [1, 2])
        let update = T.message(from: 1, .contextUpdate(version), ttl: 5)
        let merged = engine.receive([update], from: T.addr(1), transport: .datagram, now: T.t0)
        #expect(merged.contains(.stored(version)))
        // A version already held is not stored again.
        let again = engine.receive([update], from: T.addr(1), transport: .datagram, now: T.t0 + .seconds(1))
        #expect(!again.contains { if case .stored = $0 { true } else { false } })
    }

    @Test func transportFailuresReportedByTheHostAreCounted() throws {
        var (engine, _) = try T.engine(0, peers: [1])
        let effects = engine.recordNetworkError(now: T.t0)
        #expect(effects.metrics == [.networkError])
        #expect(engine.statistics(now: T.t0).networkErrors == 1)
    }

    @Test func writesRequireARunningEngine() throws {
        var engine = try Engine(config: T.config(0), seed: 1, now: T.t0)
        #expect(throws: EngineError.notRunning) {
            try engine.put(T.address("a"), value: nil, now: T.t0)
        }
    }

    @Test func aRemoteUpdateIsMergedRelayedAndTimed() throws {
        var (writer, _) = try T.engine(1, peers: [0])
        let (version, _) = try writer.put(T.address("app/a"), value: .string("x"), now: T.t0)
        var (engine, _) = try T.engine(0, peers: [1, 2])
        let update = T.message(from: 1, .contextUpdate(version), ttl: 5)
        let effects = engine.receive(
            [update], from: T.addr(1), transport: .datagram, now: T.t0 + .milliseconds(30))
        #expect(engine.store.entry(T.address("app/a"))?.versions == [version])
        #expect(effects.metrics.contains(.metadataUpdated(origin: .remote)))
        #expect(effects.metrics.contains(.disseminationLatency(.milliseconds(30))))
        #expect(engine.dissemination.queue.contains(.version(T.address("app/a"), version.vectorClock)))
        // The same version again changes nothing and is not relayed again.
        var again = engine
        again.dissemination.queue = BroadcastQueue(capacity: 10)
        _ = again.receive([update], from: T.addr(1), transport: .datagram, now: T.t0 + .seconds(1))
        #expect(again.dissemination.queue.isEmpty)
    }

    @Test func newsIsPushedAtOnceToMembersOtherThanItsSender() throws {
        var (writer, _) = try T.engine(5, peers: [0])
        let (version, _) = try writer.put(T.address("app/a"), value: .string("x"), now: T.t0)
        let update = T.message(from: 5, .contextUpdate(version), ttl: 5)
        var (engine, _) = try T.engine(0, peers: Array(1...9))
        let effects = engine.receive([update], from: T.addr(5), transport: .datagram, now: T.t0)
        let pushed = effects.sentMessages.filter { $0.message.type == .contextUpdate }.map(\.to)
        // On the ring of node-0...node-9, node-0 is 5 places after the writer, who sent it
        // the update: it tells those 1, 2 and 4 places after itself, short of the writer.
        #expect(pushed == [T.addr(1), T.addr(2), T.addr(4)], "\(pushed)")
        // Of the retransmit budget (8 here) the ticks keep three sends.
        #expect(engine.dissemination.queue.transmits(of: .version(T.address("app/a"), version.vectorClock)) == 5)
        // Nothing new, nothing pushed.
        let again = engine.receive([update], from: T.addr(2), transport: .datagram, now: T.t0 + .milliseconds(1))
        #expect(again.sentMessages.isEmpty)
        // Without eager push, the update waits for the gossip tick.
        var (ticking, _) = try T.engine(0, peers: Array(1...9)) { $0.dissemination.eagerPush = false }
        let later = ticking.receive([update], from: T.addr(1), transport: .datagram, now: T.t0)
        #expect(later.sentMessages.isEmpty)
    }

    @Test func theRingReachesEveryMemberAtLeastOnceAndMostTwice() throws {
        // Every member's view the same, and every hop as fast (each member first hears
        // from the sender fewest hops away): from any origin, each other member hears of
        // the update at least once (the fingers below the distance alone make a tree),
        // at a cost of about two sends a member.
        for n in [2, 3, 10, 16, 64, 100] {
            var table = MemberTable()
            for i in 0..<n {
                table.upsert(
                    Member(id: T.id(i), address: T.addr(i), incarnation: 0, status: .alive, statusChangedAt: T.t0))
            }
            var ring = PushRing()
            ring.refresh(from: table, digest: table.digest)
            for origin in [0, n / 2, n - 1] {
                var heard: [NodeID: Int] = [:]
                var frontier: [(NodeID, PeerAddress?)] = [(T.id(origin), nil)]
                var reached: Set<NodeID> = [T.id(origin)]
                var sends = 0
                while !frontier.isEmpty {
                    let (node, sender) = frontier.removeFirst()
                    for target in ring.targets(of: node, from: sender, origin: T.id(origin)) {
                        sends += 1
                        heard[target.id, default: 0] += 1
                        if reached.insert(target.id).inserted { frontier.append((target.id, table[node]?.address)) }
                    }
                }
                #expect(reached.count == n, "n = \(n), origin \(origin): reached \(reached.count)")
                #expect(heard[T.id(origin)] == nil, "the origin is told of its own update")
                #expect(sends < 2 * n, "n = \(n): \(sends) sends")
            }
        }
    }

    @Test func theRingIsKeyedOnTheLiveSetAloneNotOnSuspicionsAndIncarnations() {
        // Rebuilt (sorted by name) whenever the member list's digest moved, the ring cost
        // most of a 200-node simulation at 10 % loss, where suspicions and refutations
        // change that digest many times a second; the live set changes far less often.
        func member(_ i: Int, _ status: MemberStatus, incarnation: UInt64 = 0, at address: Int? = nil) -> Member {
            Member(
                id: T.id(i), address: T.addr(address ?? i), incarnation: incarnation, status: status,
                statusChangedAt: T.t0)
        }
        var table = MemberTable((0..<4).map { member($0, .alive) })
        let start = table.liveSetDigest
        table.upsert(member(1, .suspect, incarnation: 3))
        table.update(T.id(2)) { $0.incarnation = 9 }
        #expect(table.liveSetDigest == start, "a suspicion or an incarnation changed the live set")
        #expect(table.digest != MemberTable((0..<4).map { member($0, .alive) }).digest)

        table.upsert(member(3, .failed))
        let withoutThree = table.liveSetDigest
        #expect(withoutThree != start)
        #expect(withoutThree == MemberTable((0..<3).map { member($0, .alive) }).liveSetDigest)
        table.update(T.id(3)) { $0.status = .alive }
        #expect(table.liveSetDigest == start, "the same live set, another digest")
        table.upsert(member(0, .alive, at: 7))
        #expect(table.liveSetDigest != start, "a member that moved kept the ring's old address")
        table.remove(T.id(0))
        #expect(table.liveSetDigest == MemberTable((1..<4).map { member($0, .alive) }).liveSetDigest)
    }

    @Test func concurrentWritesRaiseOneConflictAlertCarryingBothVersions() throws {
        var (a, _) = try T.engine(1, peers: [0])
        var (b, _) = try T.engine(2, peers: [0])
        let (va, _) = try a.put(T.address("app/x"), value: .string("a"), now: T.t0)
        let (vb, _) = try b.put(T.address("app/x"), value: .string("b"), now: T.t0)
        var (engine, _) = try T.engine(0, peers: [1, 2, 3])
        _ = engine.receive(
            [T.message(from: 1, .contextUpdate(va), ttl: 5)], from: T.addr(1), transport: .datagram,
            now: T.t0)
        let effects = engine.receive(
            [T.message(from: 2, .contextUpdate(vb), ttl: 5)], from: T.addr(2), transport: .datagram,
            now: T.t0)
        let entry = engine.store.entry(T.address("app/x"))!
        #expect(entry.status == .conflicted)
        #expect(Set(entry.versions) == [va, vb])
        #expect(effects.metrics.filter { $0 == .metadataConflict }.count == 1)
        #expect(effects.logs.contains { $0.event == "metadata_conflict" })
        #expect(engine.dissemination.queue.contains(.conflict(T.address("app/x"))))
        // A node that hears only the alert ends with the same conflict.
        var (other, _) = try T.engine(3, peers: [0])
        let alert = T.message(
            from: 0, .conflictAlert(ConflictAlert(address: T.address("app/x"), versions: [va, vb])),
            ttl: 5)
        _ = other.receive([alert], from: T.addr(0), transport: .datagram, now: T.t0)
        #expect(other.store.entry(T.address("app/x"))?.status == .conflicted)
        // A write that has seen both versions resolves it.
        let (resolved, _) = try engine.put(
            T.address("app/x"), value: .string("merged"), now: T.t0 + .seconds(1))
        #expect(
            resolved.vectorClock.dominates(va.vectorClock)
                && resolved.vectorClock.dominates(vb.vectorClock))
        #expect(engine.store.entry(T.address("app/x"))?.versions == [resolved])
    }

    @Test func aTamperedVersionIsRejectedAndCounted() throws {
        var (writer, _) = try T.engine(1, peers: [0])
        var (version, _) = try writer.put(T.address("app/a"), value: .string("x"), now: T.t0)
        version.value = .string("tampered")
        var (engine, _) = try T.engine(0, peers: [1])
        let effects = engine.receive(
            [T.message(from: 1, .contextUpdate(version), ttl: 5)], from: T.addr(1), transport: .datagram,
            now: T.t0)
        #expect(engine.store.entry(T.address("app/a")) == nil)
        #expect(effects.metrics.contains(.protocolError))
        #expect(
            effects.metrics.contains(.messageDropped(type: .contextUpdate, reason: .invalidPayload)))
    }
}
