import Testing

@testable import HearsayCore

@Suite struct MembershipRulesTests {
    private func apply(_ engine: inout Engine, _ rumor: MemberRumor, at offset: Duration = .zero)
        -> [Effect]
    {
        engine.receive(
            [T.message(from: 9, .heartbeat(rumor), ttl: 5)], from: T.addr(9), transport: .datagram,
            now: T.t0 + offset)
    }

    @Test func suspicionShrinksFromMaximumToMinimumWithConfirmations() {
        var s = Suspicion(
            incarnation: 1, start: T.t0, minimum: .seconds(4), maximum: .seconds(24),
            expectedConfirmations: 2,
            reporter: T.id(1))
        #expect(s.timeout == .seconds(24))
        let firstConfirmation = s.confirm(by: T.id(2))
        #expect(firstConfirmation)
        let one = s.timeout
        #expect(one < .seconds(24) && one > .seconds(4))
        let repeated = s.confirm(by: T.id(2))
        #expect(!repeated, "the same reporter twice is not a confirmation")
        let secondConfirmation = s.confirm(by: T.id(3))
        #expect(secondConfirmation)
        #expect(s.timeout == .seconds(4))
        let beyond = s.confirm(by: T.id(4))
        #expect(!beyond, "beyond the expected confirmations nothing changes")
        #expect(s.deadline == T.t0 + .seconds(4))
    }

    @Test func suspicionTimeoutsFollowTheClusterSize() {
        #expect(
            Suspicion.minimumTimeout(multiplier: 4, clusterSize: 5, probeInterval: .seconds(1))
                == .seconds(4))
        #expect(
            Suspicion.minimumTimeout(multiplier: 4, clusterSize: 1000, probeInterval: .seconds(1))
                == .seconds(12))
        #expect(Suspicion.expectedConfirmations(multiplier: 4, clusterSize: 100) == 2)
        #expect(Suspicion.expectedConfirmations(multiplier: 4, clusterSize: 3) == 1)
        #expect(Suspicion.expectedConfirmations(multiplier: 4, clusterSize: 2) == 0)
    }

    @Test func aSuspicionTimesOutIntoFailed() throws {
        var (engine, _) = try T.engine(0, peers: [1, 2, 3])
        let effects = apply(&engine, T.rumor(1, .suspect, reporter: 2))
        let deadline = effects.timer(.suspicion(T.id(1)))!
        // Three members besides the suspect: k = 2, no confirmations: 6 x 4 s.
        #expect(deadline == T.t0 + .seconds(24))
        let early = engine.timerFired(engine.timer(.suspicion(T.id(1))), now: deadline - .seconds(1))
        #expect(early.isEmpty)
        #expect(engine.members[T.id(1)]?.status == .suspect)
        let fired = engine.timerFired(engine.timer(.suspicion(T.id(1))), now: deadline)
        #expect(engine.members[T.id(1)]?.status == .failed)
        #expect(fired.metrics.contains(.failureDetected))
        #expect(fired.logs.contains { $0.event == "member_failed" && $0["member"] == "node-1" })
    }

    @Test func independentConfirmationsBringTheDeadlineForward() throws {
        var (engine, _) = try T.engine(0, peers: [1, 2, 3, 4])
        let first = apply(&engine, T.rumor(1, .suspect, reporter: 2)).timer(.suspicion(T.id(1)))!
        let second = apply(&engine, T.rumor(1, .suspect, reporter: 3)).timer(.suspicion(T.id(1)))!
        #expect(second < first)
        let repeated = apply(&engine, T.rumor(1, .suspect, reporter: 3))
        #expect(repeated.timer(.suspicion(T.id(1))) == nil)
    }

    @Test func aHigherIncarnationRefutesASuspicion() throws {
        var (engine, _) = try T.engine(0, peers: [1, 2])
        _ = apply(&engine, T.rumor(1, .suspect, reporter: 2))
        _ = apply(&engine, T.rumor(1, .alive, incarnation: 0))
        #expect(engine.members[T.id(1)]?.status == .suspect, "the same incarnation cannot refute")
        _ = apply(&engine, T.rumor(1, .alive, incarnation: 1))
        #expect(engine.members[T.id(1)]?.status == .alive)
        // The old suspicion timer finds nothing to do.
        let fired = engine.timerFired(engine.timer(.suspicion(T.id(1))), now: T.t0 + .seconds(60))
        #expect(engine.members[T.id(1)]?.status == .alive)
        #expect(!fired.metrics.contains(.failureDetected))
    }

    @Test func aNodeRefutesRumorsAboutItselfWithAHigherIncarnation() throws {
        var (engine, _) = try T.engine(0, peers: [1, 2, 3])
        let effects = apply(&engine, T.rumor(0, .suspect, incarnation: 0, reporter: 1))
        #expect(engine.incarnation == 1)
        #expect(effects.metrics.contains(.refuted))
        #expect(engine.localHealth.score == 1)
        // The refutation is pushed at once.
        let refutations = effects.sentMessages.filter {
            if case .heartbeat(let r) = $0.message.payload {
                r.subject == T.id(0) && r.status == .alive && r.incarnation == 1
            } else {
                false
            }
        }
        #expect(!refutations.isEmpty)
        // A rumor of the old life is not refuted again.
        let stale = apply(&engine, T.rumor(0, .failed, incarnation: 0, reporter: 2))
        #expect(engine.incarnation == 1)
        #expect(!stale.metrics.contains(.refuted))
        _ = apply(&engine, T.rumor(0, .failed, incarnation: 1, reporter: 2))
        #expect(engine.incarnation == 2)
    }

    @Test func tombstonesResistStaleGossipButNotANewLife() throws {
        var (engine, _) = try T.engine(0, peers: [1, 2])
        _ = apply(&engine, T.rumor(1, .failed, incarnation: 3, reporter: 2))
        #expect(engine.members[T.id(1)]?.status == .failed)
        _ = apply(&engine, T.rumor(1, .alive, incarnation: 3))
        _ = apply(&engine, T.rumor(1, .suspect, incarnation: 3, reporter: 2))
        #expect(engine.members[T.id(1)]?.status == .failed)
        _ = apply(&engine, T.rumor(1, .alive, incarnation: 4))
        #expect(engine.members[T.id(1)]?.status == .alive)
        #expect(engine.members[T.id(1)]?.incarnation == 4)
    }

    @Test func leftOutranksFailedAndIsNeverTurnedIntoFailed() throws {
        var (engine, _) = try T.engine(0, peers: [1, 2])
        let effects = apply(&engine, T.rumor(1, .left, incarnation: 2, reporter: 1))
        #expect(engine.members[T.id(1)]?.status == .left)
        #expect(!effects.metrics.contains(.failureDetected))
        _ = apply(&engine, T.rumor(1, .failed, incarnation: 2, reporter: 2))
        _ = apply(&engine, T.rumor(1, .suspect, incarnation: 2, reporter: 2))
        #expect(engine.members[T.id(1)]?.status == .left)
        // A failed member that then announces its leave ends as left.
        _ = apply(&engine, T.rumor(2, .failed, incarnation: 0, reporter: 1))
        _ = apply(&engine, T.rumor(2, .left, incarnation: 0, reporter: 2))
        #expect(engine.members[T.id(2)]?.status == .left)
    }

    @Test func aHigherIncarnationMovesAMemberToItsNewAddress() throws {
        var (engine, _) = try T.engine(0, peers: [1])
        var moved = T.rumor(1, .alive, incarnation: 1)
        moved.address = PeerAddress("10.9.9.9:7946")
        _ = apply(&engine, moved)
        #expect(engine.members[T.id(1)]?.address == PeerAddress("10.9.9.9:7946"))
    }

    @Test func heartbeatPayloadsAreKeptPerMemberAndOnlyNewerOnesReplaceThem() throws {
        var (engine, _) = try T.engine(0, peers: [1])
        var rumor = T.rumor(1, .alive)
        rumor.heartbeat = NodeHeartbeat(
            sequence: 2, load: 0.5, version: "1.2.0", capabilities: ["replication"])
        let first = apply(&engine, rumor)
        #expect(engine.heartbeat(of: T.id(1))?.load == 0.5)
        #expect(engine.dissemination.queue.contains(.member(T.id(1))), "a new payload is gossiped on")
        _ = first
        rumor.heartbeat = NodeHeartbeat(sequence: 1, load: 0.9, version: "1.2.0", capabilities: [])
        _ = apply(&engine, rumor)
        #expect(engine.heartbeat(of: T.id(1))?.load == 0.5)
        // The node's own heartbeat goes out on its timer with a growing sequence.
        let announced = engine.timerFired(engine.timer(.heartbeat), now: T.t0 + .seconds(30))
        #expect(announced.timer(.heartbeat) == T.t0 + .seconds(60))
        #expect(engine.heartbeat(of: T.id(0))?.sequence == 1)
        #expect(engine.dissemination.queue.contains(.member(T.id(0))))
    }

    @Test func suspectAndFailedRumorsMustNameAReporter() throws {
        var (engine, _) = try T.engine(0, peers: [1])
        var rumor = T.rumor(1, .failed)
        rumor.reporter = nil
        let effects = apply(&engine, rumor)
        #expect(engine.members[T.id(1)]?.status == .alive)
        #expect(effects.metrics.contains(.protocolError))
    }

    @Test func tombstonesArePurgedAfterTheGracePeriod() throws {
        var (engine, _) = try T.engine(0, peers: [1, 2]) { $0.tombstoneGrace = .seconds(3600) }
        _ = apply(&engine, T.rumor(1, .failed, reporter: 2))
        _ = engine.timerFired(engine.timer(.reap), now: T.t0 + .seconds(1800))
        #expect(engine.members[T.id(1)] != nil)
        _ = engine.timerFired(engine.timer(.reap), now: T.t0 + .seconds(3601))
        #expect(engine.members[T.id(1)] == nil)
        #expect(engine.members[T.id(2)]?.status == .alive)
    }
}
