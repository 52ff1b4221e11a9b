import Testing

@testable import HearsayCore

/// The rules that keep datagram loss from condemning live members: the stream fallback
/// ping, the incarnation carried by acks, suspects probed first, and quietly learned
/// joins passed on.
@Suite struct ProbeFallbackTests {
    private func pings(_ effects: [Effect]) -> [(to: PeerAddress, message: GossipMessage, via: Transport)] {
        effects.sends.flatMap { o in
            o.messages.compactMap { m in
                if case .healthCheck(.ping) = m.payload { (o.to, m, o.transport) } else { nil }
            }
        }
    }

    @Test func anUnansweredProbeAlsoPingsOverAStream() throws {
        var (engine, _) = try T.engine(0, peers: [1, 2, 3])
        let tick = engine.timerFired(engine.timer(.probe), now: T.t0 + .seconds(1))
        let (target, ping, _) = pings(tick)[0]
        let sequence = ping.payload.healthSequence!
        let timeout = engine.timerFired(
            engine.timer(.probeTimeout(sequence: sequence)), now: T.t0 + .milliseconds(1500))
        let fallback = pings(timeout).filter { $0.via == .stream }
        #expect(fallback.map(\.to) == [target])
        // Its ack over the stream counts: no suspicion at the end of the period.
        let subject = engine.members.all.first { $0.address == target }!
        _ = engine.receive(
            [T.message(from: Int(subject.id.rawValue.dropFirst(5))!, .healthCheck(.ack(sequence: sequence)))],
            from: target, transport: .stream, now: T.t0 + .milliseconds(1600))
        _ = engine.timerFired(engine.timer(.probe), now: T.t0 + .seconds(2))
        #expect(engine.members[subject.id]?.status == .alive)
    }

    @Test func theFallbackCanBeTurnedOff() throws {
        var (engine, _) = try T.engine(0, peers: [1, 2, 3]) { $0.failureDetection.streamFallbackProbe = false }
        let tick = engine.timerFired(engine.timer(.probe), now: T.t0 + .seconds(1))
        let sequence = pings(tick)[0].message.payload.healthSequence!
        let timeout = engine.timerFired(
            engine.timer(.probeTimeout(sequence: sequence)), now: T.t0 + .milliseconds(1500))
        #expect(pings(timeout).isEmpty)
    }

    @Test func aStreamPingIsAnsweredOnAStreamToTheAdvertisedAddress() throws {
        var (engine, _) = try T.engine(0, peers: [1])
        let ephemeral = PeerAddress("10.0.0.1:53122")
        let effects = engine.receive(
            [T.message(from: 1, .healthCheck(.ping(sequence: 9, target: T.id(0))))], from: ephemeral,
            transport: .stream, now: T.t0)
        let reply = effects.sends.first { $0.messages.contains { $0.type == .healthCheck } }
        #expect(reply?.to == T.addr(1) && reply?.transport == .stream)
        #expect(reply?.messages.first?.payload == .healthCheck(.ack(sequence: 9, incarnation: 0)))
    }

    @Test func anAckCarryingAHigherIncarnationRefutesASuspicionHere() throws {
        var (engine, _) = try T.engine(0, peers: [1, 2])
        _ = engine.receive(
            [T.message(from: 2, .heartbeat(T.rumor(1, .suspect, incarnation: 0, reporter: 2)), ttl: 1)],
            from: T.addr(2), transport: .datagram, now: T.t0)
        #expect(engine.members[T.id(1)]?.status == .suspect)
        // The next probe goes to the suspect itself, and its ack says it refuted.
        let tick = engine.timerFired(engine.timer(.probe), now: T.t0 + .seconds(1))
        let (target, ping, _) = pings(tick)[0]
        #expect(target == T.addr(1))
        _ = engine.receive(
            [T.message(from: 1, .healthCheck(.ack(sequence: ping.payload.healthSequence!, incarnation: 1)))],
            from: T.addr(1), transport: .datagram, now: T.t0 + .seconds(1) + .milliseconds(5))
        #expect(engine.members[T.id(1)]?.status == .alive)
        #expect(engine.members[T.id(1)]?.incarnation == 1)
    }

    @Test func aRelayedAckPassesTheIncarnationOn() throws {
        var (engine, _) = try T.engine(0, peers: [1, 2])
        let request = engine.receive(
            [T.message(from: 1, .healthCheck(.pingRequest(sequence: 50, target: T.id(2), address: T.addr(2))))],
            from: T.addr(1), transport: .datagram, now: T.t0)
        let own = pings(request)[0].message.payload.healthSequence!
        let relayed = engine.receive(
            [T.message(from: 2, .healthCheck(.ack(sequence: own, incarnation: 7)))], from: T.addr(2),
            transport: .datagram, now: T.t0)
        #expect(
            relayed.sentMessages.contains {
                $0.to == T.addr(1) && $0.message.payload == .healthCheck(.ack(sequence: 50, incarnation: 7))
            })
    }

    @Test func suspectsAreProbedEveryOtherPeriodAtMostOnceEach() throws {
        var (engine, _) = try T.engine(0, peers: Array(1...9))
        for s in [3, 4] {
            _ = engine.receive(
                [T.message(from: 9, .heartbeat(T.rumor(s, .suspect, reporter: 9)), ttl: 1)],
                from: T.addr(9), transport: .datagram, now: T.t0)
        }
        var targets: [PeerAddress] = []
        for k in 1...6 {
            let effects = engine.timerFired(engine.timer(.probe), now: T.t0 + .seconds(k))
            let (to, ping, _) = pings(effects)[0]
            targets.append(to)
            let index = Int(engine.members.all.first { $0.address == to }!.id.rawValue.dropFirst(5))!
            _ = engine.receive(
                [T.message(from: index, .healthCheck(.ack(sequence: ping.payload.healthSequence!)))], from: to,
                transport: .datagram, now: T.t0 + .seconds(k) + .milliseconds(5))
        }
        // Oldest suspicion first (a tie goes to the lower id), round-robin in between.
        #expect(targets[0] == T.addr(3) && targets[2] == T.addr(4))
        let allProbed = engine.failureDetector.suspicions.values.allSatisfy { $0.probedHere }
        #expect(allProbed, "each suspect is probed once while suspected")
        #expect(Set(targets).count >= 5, "the round-robin went on in between")
    }

    @Test func aMemberLearnedFromAListIsPassedOnWhenItsAnnouncementArrives() throws {
        var (engine, _) = try T.engine(0, peers: [1])
        // From a member list: learned quietly, not gossiped.
        _ = engine.receive(
            [T.message(from: 1, .peerDiscovery(.response(members: [T.rumor(5, .alive)])))], from: T.addr(1),
            transport: .stream, now: T.t0)
        #expect(engine.members[T.id(5)]?.status == .alive)
        #expect(!engine.dissemination.queue.contains(.member(T.id(5))))
        // Its join announcement then arrives: nothing new, but it is passed on once.
        let announcement = T.message(from: 1, .heartbeat(T.rumor(5, .alive)), ttl: 10)
        _ = engine.receive([announcement], from: T.addr(1), transport: .datagram, now: T.t0)
        #expect(engine.dissemination.queue.contains(.member(T.id(5))))
        var drained = engine
        drained.dissemination.queue = BroadcastQueue(capacity: 10)
        _ = drained.receive([announcement], from: T.addr(1), transport: .datagram, now: T.t0)
        #expect(drained.dissemination.queue.isEmpty, "only once")
    }
}
