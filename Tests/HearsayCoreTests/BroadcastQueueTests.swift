import Testing

@testable import HearsayCore

@Suite struct BroadcastQueueTests {
    private func rumor(_ i: Int, incarnation: UInt64 = 0, padding: Int = 0) -> GossipMessage {
        var r = T.rumor(i, .alive, incarnation: incarnation)
        if padding > 0 {
            r.heartbeat = NodeHeartbeat(version: String(repeating: "v", count: padding), capabilities: [])
        }
        return T.message(from: 0, .heartbeat(r), id: UInt64(i))
    }

    private func update(_ address: String, writer: Int = 0, counter: UInt64 = 1) -> (
        GossipMessage, VectorClock
    ) {
        let clock = VectorClock([T.id(writer): counter])
        let version = ContextMetadata.make(
            address: T.address(address), value: .string("v"), status: .active, roles: [],
            replicationNodes: [],
            clock: clock, by: T.id(writer), at: T.t0)
        return (T.message(from: writer, .contextUpdate(version)), clock)
    }

    @Test func eachBroadcastIsSentItsLimitThenLeaves() {
        var queue = BroadcastQueue(capacity: 10)
        queue.enqueue(rumor(1), key: .member(T.id(1)), kind: .membership)
        for _ in 0..<3 {
            #expect(queue.take(budget: 1200, limit: 3).count == 1)
        }
        #expect(queue.isEmpty)
        #expect(queue.take(budget: 1200, limit: 3).isEmpty)
    }

    @Test func retransmitLimitGrowsWithLog10OfTheClusterSize() {
        #expect(BroadcastQueue.retransmitLimit(multiplier: 4, members: 5) == 4)
        #expect(BroadcastQueue.retransmitLimit(multiplier: 4, members: 9) == 4)
        #expect(BroadcastQueue.retransmitLimit(multiplier: 4, members: 10) == 8)
        #expect(BroadcastQueue.retransmitLimit(multiplier: 4, members: 10_000) == 20)
    }

    @Test func leastSentThenNewestGoFirstWithinTheBudget() {
        var queue = BroadcastQueue(capacity: 10)
        for i in 1...3 { queue.enqueue(rumor(i), key: .member(T.id(i)), kind: .membership) }
        let size = rumor(1).wireSize
        let first = queue.take(budget: size, limit: 10)
        #expect(first.map(\.id) == [3])
        let second = queue.take(budget: size * 2, limit: 10)
        #expect(second.map(\.id) == [2, 1])
        let budget = 2 * size + 1
        let third = queue.take(budget: budget, limit: 10)
        #expect(third.reduce(0) { $0 + $1.wireSize } <= budget)
    }

    @Test func aNewerRumorReplacesTheOlderOne() {
        var queue = BroadcastQueue(capacity: 10)
        queue.enqueue(rumor(1, incarnation: 1), key: .member(T.id(1)), kind: .membership)
        queue.enqueue(rumor(1, incarnation: 2), key: .member(T.id(1)), kind: .membership)
        #expect(queue.count == 1)
        let taken = queue.take(budget: 1200, limit: 10)
        if case .heartbeat(let r) = taken.first?.payload {
            #expect(r.incarnation == 2)
        } else {
            Issue.record("no rumor")
        }
    }

    @Test func aDominatingVersionReplacesOlderVersionsOfTheSameEntry() {
        var queue = BroadcastQueue(capacity: 10)
        let (old, oldClock) = update("a/1", writer: 1, counter: 1)
        let (concurrent, concurrentClock) = update("a/1", writer: 2, counter: 1)
        queue.enqueue(old, key: .version(T.address("a/1"), oldClock), kind: .metadata)
        queue.enqueue(concurrent, key: .version(T.address("a/1"), concurrentClock), kind: .metadata)
        #expect(queue.count == 2, "concurrent versions both travel")
        let (newer, newerClock) = update("a/1", writer: 1, counter: 2)
        queue.enqueue(newer, key: .version(T.address("a/1"), newerClock), kind: .metadata)
        #expect(queue.count == 2)
        #expect(!queue.contains(.version(T.address("a/1"), oldClock)))
    }

    @Test func membershipAndMetadataShareEveryDatagram() {
        // A flood of membership rumors must not starve a metadata update (and vice versa).
        var queue = BroadcastQueue(capacity: 2000)
        for i in 1...1000 {
            queue.enqueue(rumor(i, padding: 40), key: .member(T.id(i)), kind: .membership)
        }
        let (write, clock) = update("app/config")
        queue.enqueue(write, key: .version(T.address("app/config"), clock), kind: .metadata)
        let datagram = queue.take(budget: 1300, limit: 20)
        #expect(datagram.contains { $0.type == .contextUpdate })
        #expect(datagram.contains { $0.type == .heartbeat })
        var flood = BroadcastQueue(capacity: 2000)
        for i in 1...1000 {
            let (m, c) = update("bulk/\(i)")
            flood.enqueue(m, key: .version(T.address("bulk/\(i)"), c), kind: .metadata)
        }
        flood.enqueue(rumor(7), key: .member(T.id(7)), kind: .membership)
        #expect(flood.take(budget: 1300, limit: 20).contains { $0.type == .heartbeat })
    }

    @Test func aFullBufferDropsTheMostSentOldestBroadcastSoThatFreshRumorsGetIn() {
        var queue = BroadcastQueue(capacity: 3)
        let (a, aClock) = update("a")
        let (b, bClock) = update("b")
        #expect(queue.enqueue(a, key: .version(T.address("a"), aClock), kind: .metadata) == .queued)
        #expect(queue.enqueue(rumor(1), key: .member(T.id(1)), kind: .membership) == .queued)
        #expect(queue.enqueue(b, key: .version(T.address("b"), bClock), kind: .metadata) == .queued)
        // All three are sent once; then member 1's rumor is replaced by a newer one.
        _ = queue.take(budget: 1400, limit: 10)
        #expect(queue.enqueue(rumor(1, incarnation: 5), key: .member(T.id(1)), kind: .membership) == .queued)
        // A failure rumor always gets in, in place of the most sent, oldest update.
        let failed = T.message(from: 0, .heartbeat(T.rumor(2, .failed)), id: 2)
        #expect(queue.enqueue(failed, key: .member(T.id(2)), kind: .membership) == .queuedDropping(.contextUpdate))
        #expect(queue.count == 3 && queue.contains(.member(T.id(2))))
        #expect(!queue.contains(.version(T.address("a"), aClock)), "a was sent as often as b but is older")
        // A metadata update takes only another update's place...
        let (c, cClock) = update("c")
        #expect(
            queue.enqueue(c, key: .version(T.address("c"), cClock), kind: .metadata) == .queuedDropping(.contextUpdate))
        #expect(!queue.contains(.version(T.address("b"), bClock)))
        // ...and a rumor takes the last update's place, then the oldest rumor's...
        #expect(queue.enqueue(rumor(3), key: .member(T.id(3)), kind: .membership) == .queuedDropping(.contextUpdate))
        #expect(queue.enqueue(rumor(4), key: .member(T.id(4)), kind: .membership) == .queuedDropping(.heartbeat))
        #expect(!queue.contains(.member(T.id(1))) && queue.contains(.member(T.id(2))))
        // ...while an update is refused when rumors fill the queue.
        let (d, dClock) = update("d")
        #expect(queue.enqueue(d, key: .version(T.address("d"), dClock), kind: .metadata) == .refused)
        #expect(queue.count == 3)
    }

    @Test func aFullQueueKeepsDroppingTheMostSentOldestAsStaleRefsPileUp() {
        // The victim search skips refs it once found stale; over many sends, drops and
        // replacements it must still pick what a plain look at the queue picks.
        var random = SeededGenerator(seed: 99)
        var queue = BroadcastQueue(capacity: 6, protecting: .member(T.id(0)))
        var order: [BroadcastQueue.Key: Int] = [:]
        var incarnation: UInt64 = 0
        for step in 0..<3_000 {
            if Int.random(in: 0..<3, using: &random) == 0 {
                _ = queue.take(budget: Int.random(in: 60...400, using: &random), limit: 4)
                order = order.filter { queue.contains($0.key) }
                continue
            }
            let i = Int.random(in: 0..<14, using: &random)
            let key = BroadcastQueue.Key.member(T.id(i))
            let victim =
                queue.contains(key) || queue.count < queue.capacity
                ? nil
                : order.keys.filter { $0 != .member(T.id(0)) }.max { a, b in
                    let (ta, tb) = (queue.transmits(of: a)!, queue.transmits(of: b)!)
                    return ta != tb ? ta < tb : order[a]! > order[b]!
                }
            incarnation += 1
            let admission = queue.enqueue(rumor(i, incarnation: incarnation), key: key, kind: .membership)
            order[key] = step
            if let victim {
                #expect(admission == .queuedDropping(.heartbeat), "step \(step)")
                #expect(!queue.contains(victim), "step \(step): the most sent, oldest was kept")
                order[victim] = nil
            }
            #expect(queue.count == order.count && order.keys.allSatisfy { queue.contains($0) }, "step \(step)")
        }
    }

    @Test func theNodesOwnRumorIsNeverDroppedToMakeRoom() {
        var queue = BroadcastQueue(capacity: 2, protecting: .member(T.id(0)))
        #expect(queue.enqueue(rumor(0), key: .member(T.id(0)), kind: .membership) == .queued)
        #expect(queue.enqueue(rumor(1), key: .member(T.id(1)), kind: .membership) == .queued)
        for i in 2..<6 {
            #expect(queue.enqueue(rumor(i), key: .member(T.id(i)), kind: .membership) == .queuedDropping(.heartbeat))
        }
        #expect(queue.contains(.member(T.id(0))) && queue.contains(.member(T.id(5))))
    }

    @Test func broadcastsTooLargeForADatagramGoByStream() {
        var queue = BroadcastQueue(capacity: 10)
        queue.enqueue(rumor(1, padding: 2000), key: .member(T.id(1)), kind: .membership)
        queue.enqueue(rumor(2), key: .member(T.id(2)), kind: .membership)
        #expect(queue.take(budget: 1300, limit: 5).map(\.id) == [2])
        #expect(queue.takeOversized(budget: 1300, limit: 5).map(\.id) == [1])
    }

    @Test func aFullBufferCountsTheDropInTheEngine() throws {
        var (engine, _) = try T.engine(0, peers: [1]) { $0.dissemination.messageBufferSize = 1 }
        _ = engine.receive(
            [T.message(from: 1, .heartbeat(T.rumor(5, .alive)), ttl: 5)], from: T.addr(1),
            transport: .datagram,
            now: T.t0)
        let effects = engine.receive(
            [T.message(from: 1, .heartbeat(T.rumor(6, .alive)), ttl: 5)], from: T.addr(1),
            transport: .datagram,
            now: T.t0)
        #expect(effects.metrics.contains(.messageDropped(type: .heartbeat, reason: .bufferFull)))
        #expect(engine.statistics(now: T.t0).messagesDropped == 1)
        #expect(engine.state.pendingMessages == 1)
        #expect(engine.state.messageBufferCapacity == 1)
    }
}
