import Testing

@testable import HearsayCore

/// `Membership` on its own: how each rumor changes the view, and which are passed on.
@Suite struct MembershipTests {
    static func view(_ members: [(Int, MemberStatus, UInt64)]) -> Membership {
        Membership(
            members: MemberTable(
                members.map {
                    Member(
                        id: T.id($0.0), address: T.addr($0.0), incarnation: $0.2, status: $0.1, statusChangedAt: T.t0)
                }))
    }

    static func alive(_ i: Int, incarnation: UInt64 = 0, sequence: UInt64? = nil, tags: [String: String] = [:])
        throws -> MemberRumor
    {
        var rumor = T.rumor(i, .alive, incarnation: incarnation)
        if let sequence {
            rumor.heartbeat = NodeHeartbeat(
                sequence: sequence, version: "1", capabilities: [], tags: try MemberTags(tags))
        }
        return rumor
    }

    @Test func anAliveRumorJoinsRevivesMovesOrRenews() throws {
        var view = Self.view([(1, .suspect, 0), (2, .failed, 0), (3, .alive, 0)])
        let later = T.t0 + .seconds(1)
        #expect(try view.applyAlive(Self.alive(4), now: later)?.change == .joined)
        #expect(view.members[T.id(4)]?.statusChangedAt == later)
        #expect(
            try view.applyAlive(Self.alive(1, incarnation: 1), now: later)?.change
                == .newLife(previous: .suspect, moved: false))
        #expect(
            try view.applyAlive(Self.alive(2, incarnation: 1), now: later)?.change
                == .newLife(previous: .failed, moved: false))
        var moved = try Self.alive(3, incarnation: 1)
        moved.address = T.addr(33)
        #expect(view.applyAlive(moved, now: later)?.change == .newLife(previous: .alive, moved: true))
        #expect(view.members[T.id(3)]?.address == T.addr(33))
        #expect(view.members[T.id(3)]?.statusChangedAt == T.t0, "alive stayed alive: no status change")
        #expect(try view.applyAlive(Self.alive(1, incarnation: 1), now: later) == nil, "the same life again")
        #expect(try view.applyAlive(Self.alive(1, incarnation: 0), now: later) == nil, "an older life")
    }

    @Test func aLaterHeartbeatOfTheSameLifeIsKeptAndTagChangesCounted() throws {
        var view = Self.view([(1, .alive, 0)])
        #expect(try view.applyAlive(Self.alive(1, sequence: 1), now: T.t0)! == (.heartbeat, false))
        #expect(view.heartbeats[T.id(1)]?.sequence == 1)
        #expect(try view.applyAlive(Self.alive(1, sequence: 1), now: T.t0) == nil, "not newer")
        let tagged = try view.applyAlive(Self.alive(1, sequence: 2, tags: ["role": "db"]), now: T.t0)
        #expect(tagged! == (.heartbeat, true))
        #expect(view.tagChanges == 1)
        // A restarted member counts its heartbeats from 0 again, in a newer life.
        #expect(try view.carriesNewerHeartbeat(Self.alive(1, incarnation: 1, sequence: 0)))
        #expect(try !view.carriesNewerHeartbeat(Self.alive(1, incarnation: 0, sequence: 0)))
    }

    @Test func aNewcomersTagsAreCountedButNotAnnounced() throws {
        var view = Self.view([])
        let joined = try view.applyAlive(Self.alive(5, sequence: 0, tags: ["zone": "a"]), now: T.t0)
        #expect(joined! == (.joined, false))
        #expect(view.tagChanges == 1)
    }

    @Test func suspicionTakesOnlyALiveMemberAtItsIncarnationOrLater() {
        var view = Self.view([(1, .alive, 2), (2, .failed, 0)])
        #expect(view.applySuspect(T.rumor(1, .suspect, incarnation: 1), now: T.t0) == nil, "an older life")
        #expect(view.applySuspect(T.rumor(2, .suspect, incarnation: 0), now: T.t0) == nil, "already failed")
        #expect(view.applySuspect(T.rumor(9, .suspect), now: T.t0) == nil, "unknown")
        #expect(view.applySuspect(T.rumor(1, .suspect, incarnation: 2), now: T.t0) == .suspected(previous: .alive))
        #expect(view.members[T.id(1)]?.status == .suspect)
        #expect(view.applySuspect(T.rumor(1, .suspect, incarnation: 2), now: T.t0) == .reported)
        #expect(view.applySuspect(T.rumor(1, .suspect, incarnation: 3), now: T.t0) == .suspected(previous: .suspect))
    }

    @Test func departuresOrderByIncarnationThenRank() {
        var view = Self.view([(1, .alive, 0), (2, .failed, 0), (3, .left, 0)])
        #expect(view.applyDeparture(T.rumor(1, .failed), now: T.t0) == .alive)
        #expect(view.applyDeparture(T.rumor(1, .failed), now: T.t0) == nil, "the same again")
        #expect(view.applyDeparture(T.rumor(2, .left), now: T.t0) == .failed, "left outranks failed")
        #expect(view.applyDeparture(T.rumor(3, .failed), now: T.t0) == nil, "failed does not outrank left")
        #expect(view.applyDeparture(T.rumor(3, .failed, incarnation: 1), now: T.t0) == .left, "a newer life does")
        #expect(view.applyDeparture(T.rumor(9, .left), now: T.t0) == nil, "unknown")
    }

    @Test func aQuietlyLearnedMemberIsPassedOnOnceWhenItsOwnBroadcastComes() throws {
        var view = Self.view([])
        let record = try Self.alive(4)
        // From a member list: no hops left, so learned quietly.
        _ = view.applyAlive(record, now: T.t0)
        #expect(view.passesOn(record, changed: true, ttl: 1) == false)
        #expect(view.unrelayed.contains(T.id(4)))
        // Its announcement arrives with hops left: nothing new here, but passed on once.
        #expect(view.passesOn(record, changed: false, ttl: 5) == true)
        #expect(view.passesOn(record, changed: false, ttl: 5) == false)
        // News with hops left always goes on.
        #expect(view.passesOn(T.rumor(4, .suspect), changed: true, ttl: 2) == true)
        #expect(view.passesOn(T.rumor(4, .suspect), changed: false, ttl: 2) == false)
    }

    @Test func aRecordHeldAlreadyIsKnownAndTombstonesExpire() throws {
        var view = Self.view([(1, .alive, 0), (2, .left, 0), (3, .failed, 0)])
        #expect(try view.holds(Self.alive(1)))
        #expect(try !view.holds(Self.alive(1, incarnation: 1)))
        #expect(try !view.holds(Self.alive(1, sequence: 0)), "a payload not held yet")
        #expect(!view.holds(T.rumor(2, .left)))
        #expect(view.expiredTombstones(before: T.t0, me: T.id(0)).isEmpty, "not before the cutoff")
        let expired = view.expiredTombstones(before: T.t0 + .seconds(1), me: T.id(0))
        #expect(Set(expired.map(\.id)) == [T.id(2), T.id(3)])
        view.forget(T.id(2))
        #expect(view.members[T.id(2)] == nil)
        // Forgotten entirely: a new life of the name is a newcomer, payload and all.
        var back = try Self.alive(2, sequence: 0)
        _ = view.applyAlive(back, now: T.t0)
        #expect(view.passesOn(back, changed: true, ttl: 1) == false)
        view.forget(T.id(2))
        #expect(view.heartbeats[T.id(2)] == nil && !view.unrelayed.contains(T.id(2)))
        back.heartbeat?.sequence = 0
        #expect(view.carriesNewerHeartbeat(back), "no payload held for a forgotten member")
    }
}
