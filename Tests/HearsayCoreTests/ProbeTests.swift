import Testing

@testable import HearsayCore

@Suite struct ProbeTests {
    @Test func scheduleVisitsEveryPositionOncePerPassInAShuffledOrder() {
        var schedule = ProbeSchedule()
        var random = SeededGenerator(seed: 9)
        var passes: [[Int]] = []
        for _ in 0..<4 {
            passes.append((0..<10).map { _ in schedule.next(count: 10, using: &random)! })
        }
        for pass in passes { #expect(pass.sorted() == Array(0..<10)) }
        #expect(Set(passes).count > 1, "every pass had the same order")
        #expect(schedule.next(count: 0, using: &random) == nil)
    }

    @Test func aProbeTickPingsOneLiveMemberAndArmsTheTimeout() throws {
        var (engine, _) = try T.engine(0, peers: [1, 2, 3])
        let effects = engine.timerFired(engine.timer(.probe), now: T.t0 + .seconds(1))
        let pings = effects.sentMessages.filter {
            if case .healthCheck(.ping) = $0.message.payload { true } else { false }
        }
        #expect(pings.count == 1)
        let sequence = pings[0].message.payload.healthSequence!
        #expect(effects.timer(.probeTimeout(sequence: sequence)) == T.t0 + .milliseconds(1500))
        #expect(effects.timer(.probe) == T.t0 + .seconds(2))
    }

    @Test func everyMemberIsProbedWithinOnePass() throws {
        var (engine, _) = try T.engine(0, peers: Array(1...7))
        var probed: [PeerAddress] = []
        for k in 1...7 {
            let effects = engine.timerFired(engine.timer(.probe), now: T.t0 + .seconds(k))
            for (to, message) in effects.sentMessages {
                if case .healthCheck(.ping(let s, _)) = message.payload {
                    probed.append(to)
                    // Answer so nobody becomes suspect.
                    _ = engine.receive(
                        [T.message(from: 1, .healthCheck(.ack(sequence: s)))], from: to, transport: .datagram,
                        now: T.t0 + .seconds(k) + .milliseconds(10))
                }
            }
        }
        #expect(Set(probed) == Set((1...7).map(T.addr)))
    }

    @Test func anUnansweredPingBringsPingRequestsThroughKOthers() throws {
        var (engine, _) = try T.engine(0, peers: [1, 2, 3, 4, 5])
        let tick = engine.timerFired(engine.timer(.probe), now: T.t0 + .seconds(1))
        let (target, ping) = tick.sentMessages.first!
        let sequence = ping.payload.healthSequence!
        let timeout = engine.timerFired(
            engine.timer(.probeTimeout(sequence: sequence)), now: T.t0 + .milliseconds(1500))
        let requests = timeout.sentMessages.filter {
            if case .healthCheck(.pingRequest(let s, _, let a)) = $0.message.payload {
                s == sequence && a == target
            } else {
                false
            }
        }
        #expect(requests.count == 3)
        #expect(Set(requests.map(\.to)).count == 3)
        #expect(!requests.map(\.to).contains(target))
    }

    @Test func noAnswerByTheEndOfThePeriodMakesTheTargetSuspect() throws {
        var (engine, _) = try T.engine(0, peers: [1, 2, 3])
        let tick = engine.timerFired(engine.timer(.probe), now: T.t0 + .seconds(1))
        let (target, ping) = tick.sentMessages.first!
        _ = engine.timerFired(
            engine.timer(.probeTimeout(sequence: ping.payload.healthSequence!)),
            now: T.t0 + .milliseconds(1500))
        let next = engine.timerFired(engine.timer(.probe), now: T.t0 + .seconds(2))
        let subject = engine.members.all.first { $0.address == target }!
        #expect(subject.status == .suspect)
        #expect(next.metrics.contains(.suspicionRaised))
        #expect(next.timers.contains { $0.key == .suspicion(subject.id) })
        // The suspicion is gossiped, naming this node as the reporter.
        #expect(engine.dissemination.queue.contains(.member(subject.id)))
    }

    @Test func anAckKeepsTheTargetAliveAndRecordsTheRoundTrip() throws {
        var (engine, _) = try T.engine(0, peers: [1, 2, 3])
        let tick = engine.timerFired(engine.timer(.probe), now: T.t0 + .seconds(1))
        let (target, ping) = tick.sentMessages.first!
        let subject = engine.members.all.first { $0.address == target }!
        let index = Int(subject.id.rawValue.dropFirst(5))!
        let ack = engine.receive(
            [T.message(from: index, .healthCheck(.ack(sequence: ping.payload.healthSequence!)))],
            from: target,
            transport: .datagram, now: T.t0 + .seconds(1) + .milliseconds(20))
        #expect(ack.metrics.contains(.probeRTT(.milliseconds(20))))
        _ = engine.timerFired(engine.timer(.probe), now: T.t0 + .seconds(2))
        #expect(engine.members[subject.id]?.status == .alive)
    }

    @Test func aPingIsAnsweredAndAPingForSomeoneElseIsDropped() throws {
        var (engine, _) = try T.engine(0, peers: [1])
        let answered = engine.receive(
            [T.message(from: 1, .healthCheck(.ping(sequence: 7, target: T.id(0))))], from: T.addr(1),
            transport: .datagram, now: T.t0)
        #expect(
            answered.sentMessages.contains {
                $0.to == T.addr(1) && $0.message.payload == .healthCheck(.ack(sequence: 7))
            })
        let wrong = engine.receive(
            [T.message(from: 1, .healthCheck(.ping(sequence: 8, target: T.id(5))))], from: T.addr(1),
            transport: .datagram, now: T.t0)
        #expect(wrong.sends.isEmpty)
        #expect(wrong.metrics.contains(.messageDropped(type: .healthCheck, reason: .wrongTarget)))
    }

    @Test func aRelayForwardsTheAckOrAnswersWithANack() throws {
        var (engine, _) = try T.engine(1, peers: [0, 2])
        let request = engine.receive(
            [
                T.message(
                    from: 0, .healthCheck(.pingRequest(sequence: 50, target: T.id(2), address: T.addr(2))))
            ],
            from: T.addr(0), transport: .datagram, now: T.t0)
        let ping = request.sentMessages.first { $0.to == T.addr(2) }!
        let own = ping.message.payload.healthSequence!
        #expect(own != 50)
        let ack = engine.receive(
            [T.message(from: 2, .healthCheck(.ack(sequence: own)))], from: T.addr(2),
            transport: .datagram,
            now: T.t0 + .milliseconds(5))
        #expect(
            ack.sentMessages.contains {
                $0.to == T.addr(0) && $0.message.payload == .healthCheck(.ack(sequence: 50))
            })
        // A second request whose target stays silent gets a nack at 80% of the timeout.
        let second = engine.receive(
            [
                T.message(
                    from: 0, .healthCheck(.pingRequest(sequence: 51, target: T.id(2), address: T.addr(2))))
            ],
            from: T.addr(0), transport: .datagram, now: T.t0 + .seconds(1))
        let own2 = second.sentMessages.first { $0.to == T.addr(2) }!.message.payload.healthSequence!
        #expect(second.timer(.relayTimeout(sequence: own2)) == T.t0 + .seconds(1) + .milliseconds(400))
        let nack = engine.timerFired(
            engine.timer(.relayTimeout(sequence: own2)), now: T.t0 + .milliseconds(1400))
        #expect(nack.sentMessages.contains { $0.message.payload == .healthCheck(.nack(sequence: 51)) })
    }

    @Test func missedAcksWithoutNacksRaiseLocalHealthAndSlowProbing() throws {
        var (engine, _) = try T.engine(0, peers: [1, 2, 3, 4, 5])
        var now = T.t0 + .seconds(1)
        var next = engine.timerFired(engine.timer(.probe), now: now)
        for _ in 0..<3 {
            // The suspicion the last probe raised goes out first, along the push ring.
            let sequence = next.sentMessages.first {
                if case .healthCheck(.ping) = $0.message.payload { true } else { false }
            }!
            .message.payload.healthSequence!
            _ = engine.timerFired(
                engine.timer(.probeTimeout(sequence: sequence)), now: now + .milliseconds(500))
            let at = next.timer(.probe)!
            now = at
            next = engine.timerFired(engine.timer(.probe), now: now)
        }
        #expect(engine.localHealth.score == 3)
        // Interval and timeout stretch with the score.
        #expect(next.timer(.probe) == now + .seconds(4))
        let sequence = next.sentMessages.first {
            if case .healthCheck(.ping) = $0.message.payload { true } else { false }
        }!
        .message.payload.healthSequence!
        #expect(next.timer(.probeTimeout(sequence: sequence)) == now + .seconds(2))
    }

    @Test func nacksFromEveryHelperLeaveLocalHealthAlone() throws {
        var (engine, _) = try T.engine(0, peers: [1, 2, 3, 4, 5])
        let tick = engine.timerFired(engine.timer(.probe), now: T.t0 + .seconds(1))
        let sequence = tick.sentMessages.first!.message.payload.healthSequence!
        let timeout = engine.timerFired(
            engine.timer(.probeTimeout(sequence: sequence)), now: T.t0 + .milliseconds(1500))
        // Each helper asked answers with a nack of its own, from its own name and address.
        let helpers = timeout.sentMessages.compactMap { sent in (1...5).first { T.addr($0) == sent.to } }
        #expect(helpers.count >= 2, "the timeout asked \(helpers.count) helpers")
        for helper in helpers {
            _ = engine.receive(
                [T.message(from: helper, .healthCheck(.nack(sequence: sequence)))], from: T.addr(helper),
                transport: .datagram,
                now: T.t0 + .milliseconds(1900))
        }
        _ = engine.timerFired(engine.timer(.probe), now: T.t0 + .seconds(2))
        #expect(engine.localHealth.score == 0)
    }
}

extension Payload {
    var healthSequence: UInt64? {
        if case .healthCheck(let check) = self { check.sequence } else { nil }
    }
}
