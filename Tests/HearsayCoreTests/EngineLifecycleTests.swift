import Testing

@testable import HearsayCore

@Suite struct EngineLifecycleTests {
    @Test func startingTwiceOrStoppingTwiceIsAnError() throws {
        var engine = try Engine(config: T.config(0), seed: 1, now: T.t0)
        #expect(throws: EngineError.notRunning) { try engine.stop(now: T.t0) }
        let effects = try engine.start(now: T.t0)
        #expect(effects.timers.contains { $0.key == .probe })
        #expect(effects.timers.contains { $0.key == .gossipRound })
        #expect(throws: EngineError.alreadyRunning) { try engine.start(now: T.t0) }
        _ = try engine.stop(now: T.t0)
        #expect(throws: EngineError.notRunning) { try engine.stop(now: T.t0) }
        #expect(engine.state.state == "stopped")
    }

    @Test func timersOfAnEarlierRunAreIgnored() throws {
        var (engine, first) = try T.engine(0, peers: [1])
        let oldProbe = first.compactMap {
            if case .armTimer(let t, _) = $0, t.key == .probe { t } else { nil }
        }[0]
        _ = try engine.stop(now: T.t0)
        _ = try engine.start(now: T.t0)
        #expect(engine.timerFired(oldProbe, now: T.t0 + .seconds(1)).isEmpty)
        #expect(!engine.timerFired(engine.timer(.probe), now: T.t0 + .seconds(1)).isEmpty)
    }

    @Test func theGossipIntervalIsValidatedWithAClearMessage() {
        var config = T.config(0)
        config.antiEntropy.gossipInterval = .milliseconds(500)
        #expect(throws: EngineError.self) { try Engine(config: config, seed: 1, now: T.t0) }
        do {
            _ = try Engine(config: config, seed: 1, now: T.t0)
        } catch {
            #expect("\(error)" == "invalid gossip interval '0.5s': allowed 1s to 1h")
        }
        config.antiEntropy.gossipInterval = .seconds(3601)
        #expect(throws: EngineError.self) { try Engine(config: config, seed: 1, now: T.t0) }
        config.antiEntropy.gossipInterval = .seconds(3600)
        #expect(throws: Never.self) { try Engine(config: config, seed: 1, now: T.t0) }
        #expect(T.config(0).antiEntropy.gossipInterval == .seconds(30))
        #expect(T.config(0).antiEntropy.maxGossipPeers == 5)
        #expect(T.config(0).dissemination.messageBufferSize == 1000)
    }

    @Test func messagesToAStoppedEngineAreDroppedAndCounted() throws {
        var engine = try Engine(config: T.config(0), seed: 1, now: T.t0)
        let effects = engine.receive(
            [T.message(from: 1, .healthCheck(.ping(sequence: 1, target: T.id(0))))], from: T.addr(1),
            transport: .datagram, now: T.t0)
        #expect(effects.metrics == [.messageDropped(type: .healthCheck, reason: .notRunning)])
    }

    @Test func aRejectedFrameIsCountedAlwaysAndLoggedOncePerReasonEveryTenSeconds() throws {
        var engine = try Engine(config: T.config(0), seed: 1, now: T.t0)
        let first = engine.recordRejectedFrame(
            reason: .badSignature, detail: "tag mismatch", from: T.addr(1), transport: .datagram, now: T.t0)
        #expect(first.metrics == [.messageDropped(type: nil, reason: .badSignature)])
        #expect(first.logs.map(\.event) == ["frame_rejected"])
        #expect(
            first.logs.first?.fields == [
                LogField("type", "unknown"), LogField("reason", "bad_signature"), LogField("detail", "tag mismatch"),
                LogField("transport", "udp"), LogField("from", T.addr(1).rawValue),
            ])
        let flood = engine.recordRejectedFrame(
            reason: .badSignature, detail: "tag mismatch", from: T.addr(2), transport: .datagram,
            now: T.t0 + .seconds(9))
        #expect(flood.metrics.count == 1 && flood.logs.isEmpty)
        let other = engine.recordRejectedFrame(
            reason: .replay, detail: "seen", from: T.addr(2), transport: .stream, now: T.t0 + .seconds(9))
        #expect(other.logs.count == 1)
        let later = engine.recordRejectedFrame(
            reason: .badSignature, detail: "tag mismatch", from: T.addr(2), transport: .datagram,
            now: T.t0 + .seconds(10))
        #expect(later.logs.count == 1)
        #expect(engine.statistics(now: T.t0 + .seconds(10)).messagesDropped == 4)
    }

    @Test func aJoinExchangesMemberListsWithTheSeed() throws {
        var (seed, _) = try T.engine(0, peers: [1, 2])
        var (joiner, _) = try T.engine(5)
        #expect(joiner.state.joined)
        let request = try joiner.join(seeds: [T.addr(0)], now: T.t0)
        #expect(!joiner.state.joined)
        let (to, message) = request.sentMessages[0]
        #expect(to == T.addr(0))
        #expect(request.sends[0].transport == .stream)
        let answer = seed.receive([message], from: T.addr(5), transport: .stream, now: T.t0)
        #expect(seed.members[T.id(5)]?.status == .alive)
        #expect(seed.dissemination.queue.contains(.member(T.id(5))), "the seed announces the newcomer")
        let response = answer.sentMessages.first { $0.message.type == .peerDiscovery }!
        #expect(response.to == T.addr(5))
        _ = joiner.receive([response.message], from: T.addr(0), transport: .stream, now: T.t0)
        #expect(joiner.state.joined)
        #expect(Set(joiner.members.all.map(\.id)) == Set([0, 1, 2, 5].map(T.id)))
    }

    @Test func aNodeThatJoinsCatchesUpOnTheMetadataAtOnce() throws {
        var (seed, _) = try T.engine(0)
        for i in 0..<3 {
            _ = try seed.store.write(
                address: T.address("k/\(i)"), value: .number(Double(i)), status: .active, roles: [],
                replicationNodes: [], by: T.id(0), at: T.t0)
        }
        var (joiner, started) = try T.engine(5)
        var armed = started.timers.filter { $0.key == .gossipRound }.count
        var pending = try joiner.join(seeds: [T.addr(0)], now: T.t0).sends.map { (to: 0, outbound: $0) }
        // Deliver every frame between the two at the join's instant: no timer fires.
        while !pending.isEmpty {
            let (to, outbound) = pending.removeFirst()
            let via = outbound.transport
            if to == 0 {
                pending += seed.receive(outbound.messages, from: T.addr(5), transport: via, now: T.t0).sends
                    .filter { $0.to == T.addr(5) }.map { (5, $0) }
            } else {
                let effects = joiner.receive(outbound.messages, from: T.addr(0), transport: via, now: T.t0)
                armed += effects.timers.filter { $0.key == .gossipRound }.count
                pending += effects.sends.filter { $0.to == T.addr(0) }.map { (0, $0) }
            }
        }
        // The round on joining is one more round, not a second schedule of rounds.
        #expect(armed == 1, "round timers armed: \(armed)")
        #expect(joiner.state.joined)
        #expect(joiner.store.count == 3, "the joiner waited for its next gossip round")
        #expect(joiner.store.digest == seed.store.digest)
    }

    @Test func aJoinWithoutAnswerTimesOutAndCountsANetworkError() throws {
        var (joiner, _) = try T.engine(5)
        let effects = try joiner.join(seeds: [T.addr(0)], now: T.t0)
        let at = effects.timer(.joinTimeout(attempt: 1))!
        let timeout = joiner.timerFired(joiner.timer(.joinTimeout(attempt: 1)), now: at)
        #expect(timeout.metrics.contains(.networkError))
        #expect(!joiner.state.joined)
    }

    @Test func retriesFasterThanTheJoinTimeoutDoNotPostponeIt() throws {
        // A host retrying every 500 ms against a 5 s timeout never heard of a timeout.
        var (joiner, _) = try T.engine(5)
        let first = try joiner.join(seeds: [T.addr(0)], now: T.t0)
        let at = try #require(first.timer(.joinTimeout(attempt: 1)))
        var retry = T.t0
        for _ in 0..<5 {
            retry = retry + .milliseconds(500)
            let again = try joiner.join(seeds: [T.addr(0)], now: retry)
            #expect(
                !again.timers.contains { if case .joinTimeout = $0.key { true } else { false } },
                "a retry re-armed the join timeout")
        }
        let timeout = joiner.timerFired(joiner.timer(.joinTimeout(attempt: 1)), now: at)
        #expect(timeout.metrics.contains(.networkError))
        #expect(timeout.logs.contains { $0.event == "join_timeout" })
        // The next attempt arms a new timeout.
        let next = try joiner.join(seeds: [T.addr(0)], now: at + .milliseconds(1))
        #expect(next.timer(.joinTimeout(attempt: 7)) != nil)
    }

    @Test func theLastMemberLeavesAtOnce() throws {
        var (engine, _) = try T.engine(0)
        let effects = try engine.leave(now: T.t0)
        #expect(effects.contains(.leaveCompleted))
        #expect(effects.sentMessages.isEmpty)
        _ = try engine.stop(now: T.t0)
        #expect(engine.state.state == "left")
    }

    @Test func aLeaveIsAnnouncedAndCompletesOnceItHasSpread() throws {
        var (engine, _) = try T.engine(0, peers: [1, 2, 3])
        let effects = try engine.leave(now: T.t0)
        let announcements = effects.sentMessages.filter {
            if case .heartbeat(let r) = $0.message.payload {
                r.subject == T.id(0) && r.status == .left
            } else {
                false
            }
        }
        #expect(announcements.count == 3)
        #expect(engine.state.state == "leaving")
        #expect(throws: EngineError.alreadyLeaving) { try engine.leave(now: T.t0) }
        var completed = false
        var now = T.t0
        for _ in 0..<10 where !completed {
            now = now + .milliseconds(200)
            completed = engine.timerFired(engine.timer(.gossip), now: now).contains(.leaveCompleted)
        }
        #expect(completed)
        #expect(now < T.t0 + .seconds(5))
        _ = try engine.stop(now: now)
        #expect(engine.state.state == "left")
    }
}
