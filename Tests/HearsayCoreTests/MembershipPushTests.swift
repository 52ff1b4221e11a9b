import Testing

@testable import HearsayCore

/// Membership news on the push ring: each test has a ring of node-0...node-9, on which
/// node-0 starting news tells those 1, 2, 4 and 8 places after it.
@Suite struct MembershipPushTests {
    private func rumorsSent(_ effects: [Effect], about subject: Int, _ status: MemberStatus) -> [PeerAddress] {
        effects.sentMessages.filter {
            if case .heartbeat(let rumor) = $0.message.payload {
                rumor.subject == T.id(subject) && rumor.status == status
            } else {
                false
            }
        }.map(\.to)
    }

    @Test func aRumorNewToANodeIsPassedOnAtOncePlacedByItsReporter() throws {
        var (engine, _) = try T.engine(0, peers: Array(1...9))
        let suspicion = T.message(from: 5, .heartbeat(T.rumor(7, .suspect, reporter: 5)), ttl: 10)
        let effects = engine.receive([suspicion], from: T.addr(5), transport: .datagram, now: T.t0)
        // node-0 is 5 places after the reporter, who sent it: it tells those 1, 2 and 4
        // places after itself, short of the reporter.
        #expect(rumorsSent(effects, about: 7, .suspect) == [T.addr(1), T.addr(2), T.addr(4)])
        // An alive rumor is placed by its subject: node-0 is 1 place after node-9, so it
        // tells the one place after itself.
        let join = T.message(from: 9, .heartbeat(T.rumor(10, .alive)), ttl: 10)
        var joined = engine
        let announced = joined.receive([join], from: T.addr(9), transport: .datagram, now: T.t0)
        #expect(rumorsSent(announced, about: 10, .alive).count == 1)
        // Nothing new, nothing pushed.
        let again = engine.receive([suspicion], from: T.addr(2), transport: .datagram, now: T.t0)
        #expect(again.sentMessages.isEmpty)
    }

    @Test func aSuspicionAndAFailureThisNodeDeclaresGoOutAtOnce() throws {
        var (engine, _) = try T.engine(0, peers: Array(1...9))
        let tick = engine.timerFired(engine.timer(.probe), now: T.t0 + .seconds(1))
        let ping = try #require(tick.sentMessages.first { $0.message.type == .healthCheck })
        let target = try #require((1...9).first { T.addr($0) == ping.to })
        let sequence = try #require(ping.message.payload.healthSequence)
        _ = engine.timerFired(engine.timer(.probeTimeout(sequence: sequence)), now: T.t0 + .milliseconds(1500))
        // The next tick settles the missed probe: the suspicion goes along the ring at
        // once, not at the next gossip tick.
        let next = engine.timerFired(engine.timer(.probe), now: T.t0 + .seconds(2))
        #expect(engine.members[T.id(target)]?.status == .suspect)
        // (Then it rides on the probe of the new period, as every queued broadcast does.)
        #expect(Array(rumorsSent(next, about: target, .suspect).prefix(4)) == [1, 2, 4, 8].map(T.addr))
        let deadline = try #require(next.timer(.suspicion(T.id(target))))
        let failed = engine.timerFired(engine.timer(.suspicion(T.id(target))), now: deadline)
        #expect(engine.members[T.id(target)]?.status == .failed)
        #expect(!rumorsSent(failed, about: target, .failed).isEmpty)
    }

    @Test func aNewcomerAnnouncesItselfAlongTheRingOnceItsJoinIsAnswered() throws {
        var (engine, _) = try T.engine(0)
        _ = try engine.join(seeds: [T.addr(9)], now: T.t0)
        let list = (1...9).map { T.rumor($0, .alive) }
        let answered = engine.receive(
            [T.message(from: 9, .peerDiscovery(.response(members: list)))], from: T.addr(9), transport: .stream,
            now: T.t0 + .milliseconds(1))
        // (Then it rides on the anti-entropy digests the join starts.)
        #expect(Array(rumorsSent(answered, about: 0, .alive).prefix(4)) == [1, 2, 4, 8].map(T.addr))
        // Without eager push, gossip ticks announce it.
        var (ticking, _) = try T.engine(0) { $0.dissemination.eagerPush = false }
        _ = try ticking.join(seeds: [T.addr(9)], now: T.t0)
        let quiet = ticking.receive(
            [T.message(from: 9, .peerDiscovery(.response(members: list)))], from: T.addr(9), transport: .stream,
            now: T.t0 + .milliseconds(1))
        #expect(rumorsSent(quiet, about: 0, .alive).isEmpty)
    }
}
