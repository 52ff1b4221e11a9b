import Testing

@testable import HearsayCore

/// `FailureDetector` on its own: its choices and verdicts, with no engine and no messages.
@Suite struct FailureDetectorTests {
    static func table(_ ids: [Int], suspect: [Int] = [], failed: [Int] = []) -> MemberTable {
        MemberTable(
            ids.map { i in
                let status: MemberStatus = suspect.contains(i) ? .suspect : failed.contains(i) ? .failed : .alive
                return Member(id: T.id(i), address: T.addr(i), incarnation: 0, status: status, statusChangedAt: T.t0)
            })
    }

    static func probe(_ sequence: UInt64, target: Int) -> ProbeInFlight {
        ProbeInFlight(sequence: sequence, target: T.id(target), incarnation: 0, sentAt: T.t0)
    }

    @Test func everyLiveMemberButItselfIsProbedOncePerPass() {
        var detector = FailureDetector(settings: FailureDetectionSettings())
        var random = SeededGenerator(seed: 3)
        let members = Self.table(Array(0...6), failed: [5])
        var seen: [NodeID] = []
        for _ in 0..<5 {
            seen.append(detector.nextTarget(in: members, me: T.id(0), using: &random)!.id)
        }
        #expect(Set(seen) == Set([1, 2, 3, 4, 6].map(T.id)), "each live member once, not itself, not the failed")
        #expect(Set(seen).count == 5)
    }

    @Test func aSuspectNotProbedHereGoesFirstEveryOtherPeriod() throws {
        var detector = FailureDetector(settings: FailureDetectionSettings())
        var random = SeededGenerator(seed: 3)
        let members = Self.table(Array(0...9), suspect: [7])
        #expect(detector.suspect(T.id(7), incarnation: 0, reporter: T.id(4), liveCount: 10, now: T.t0) != nil)
        let firstFound = detector.nextTarget(in: members, me: T.id(0), using: &random)
        let first = try #require(firstFound)
        #expect(first.id == T.id(7))
        #expect(detector.suspicions[T.id(7)]?.probedHere == true)
        // Probed once here: from now on it waits its turn in the round-robin, and the
        // next pass visits every other member once and the suspect once.
        var pass: [NodeID] = []
        for _ in 0..<9 {
            let nextFound = detector.nextTarget(in: members, me: T.id(0), using: &random)
            pass.append(try #require(nextFound).id)
        }
        #expect(Set(pass) == Set((1...9).map(T.id)))
        #expect(pass.filter { $0 == T.id(7) }.count == 1)
    }

    @Test func noTargetInATableOfOne() {
        var detector = FailureDetector(settings: FailureDetectionSettings())
        var random = SeededGenerator(seed: 1)
        #expect(detector.nextTarget(in: Self.table([0]), me: T.id(0), using: &random) == nil)
    }

    @Test func anAckedProbeLowersLocalHealthAndAMissRaisesIt() {
        var detector = FailureDetector(settings: FailureDetectionSettings())
        #expect(detector.judge() == nil, "no probe, no verdict")
        detector.began(Self.probe(1, target: 2))
        #expect(detector.judge() == .unanswered(T.id(2), incarnation: 0))
        #expect(detector.localHealth.score == 1)
        #expect(detector.probeInterval == .seconds(2), "local health stretches the period")
        detector.began(Self.probe(2, target: 2))
        guard case .probe(let acked) = detector.acked(2) else {
            Issue.record("the ack should match the probe")
            return
        }
        #expect(acked.acked && acked.target == T.id(2))
        #expect(detector.judge() == .answered)
        #expect(detector.localHealth.score == 0)
    }

    @Test func allNacksInMeanTheTargetNotThisNode() {
        var detector = FailureDetector(settings: FailureDetectionSettings())
        detector.began(Self.probe(5, target: 1))
        #expect(detector.unanswered(5) != nil)
        detector.awaitNacks(2)
        detector.nacked(5)
        detector.nacked(6)  // another probe's
        #expect(detector.probe?.nacks == 1)
        #expect(detector.judge() == .unanswered(T.id(1), incarnation: 0))
        #expect(detector.localHealth.score == 1, "a missing nack points at this node")
        detector.began(Self.probe(7, target: 1))
        detector.awaitNacks(2)
        detector.nacked(7)
        detector.nacked(7)
        _ = detector.judge()
        #expect(detector.localHealth.score == 1, "every nack came: health unchanged")
    }

    @Test func anAckedProbeIsNoLongerUnansweredAndASecondAckMatchesNothing() {
        var detector = FailureDetector(settings: FailureDetectionSettings())
        detector.began(Self.probe(9, target: 1))
        _ = detector.acked(9)
        #expect(detector.unanswered(9) == nil)
        guard case .none = detector.acked(9) else {
            Issue.record("a duplicate ack must match nothing")
            return
        }
    }

    @Test func aRelayedProbeOwesItsRequesterOneAnswer() {
        var detector = FailureDetector(settings: FailureDetectionSettings())
        detector.relaying(40, for: Relay(requester: T.addr(3), requesterSequence: 7))
        guard case .relay(let relay) = detector.acked(40) else {
            Issue.record("the ack belongs to the relay")
            return
        }
        #expect(relay.requester == T.addr(3) && relay.requesterSequence == 7)
        #expect(detector.relayExpired(40) == nil, "answered once")
        detector.relaying(41, for: Relay(requester: T.addr(3), requesterSequence: 8))
        #expect(detector.relayExpired(41)?.requesterSequence == 8)
        detector.relaying(42, for: Relay(requester: T.addr(3), requesterSequence: 9))
        detector.stop()
        #expect(detector.relayExpired(42) == nil, "a stop forgets relays")
    }

    @Test func confirmationsShortenASuspicionAndARepeatChangesNothing() throws {
        var detector = FailureDetector(settings: FailureDetectionSettings())
        let firstFound = detector.suspect(T.id(1), incarnation: 0, reporter: T.id(2), liveCount: 10, now: T.t0)
        let first = try #require(firstFound)
        // 4 x max(1, log10 10) x 1 s minimum, 6 times that without confirmations.
        #expect(first == T.t0 + .seconds(24))
        #expect(detector.suspect(T.id(1), incarnation: 0, reporter: T.id(2), liveCount: 10, now: T.t0) == nil)
        let confirmedFound = detector.suspect(T.id(1), incarnation: 0, reporter: T.id(3), liveCount: 10, now: T.t0)
        let confirmed = try #require(confirmedFound)
        #expect(confirmed < first)
        #expect(detector.expired(T.id(1), now: confirmed - .milliseconds(1)) == nil)
        #expect(detector.expired(T.id(1), now: confirmed)?.confirmations == 1)
        // A newer incarnation starts over.
        let renewedFound = detector.suspect(
            T.id(1), incarnation: 1, reporter: T.id(3), liveCount: 10, now: T.t0 + .seconds(1))
        let renewed = try #require(renewedFound)
        #expect(renewed == T.t0 + .seconds(25))
        detector.clearSuspicion(of: T.id(1))
        #expect(detector.expired(T.id(1), now: renewed) == nil)
    }

    @Test func beingSuspectedRaisesLocalHealthUpToItsBound() {
        var settings = FailureDetectionSettings()
        settings.localHealthMaximum = 3
        var detector = FailureDetector(settings: settings)
        for _ in 0..<5 { detector.suspectedHere() }
        #expect(detector.localHealth.score == 2)
        #expect(detector.probeTimeout == .milliseconds(1500))
    }
}
