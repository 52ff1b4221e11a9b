/// This node's view of the cluster's members, and SWIM's rules for changing it: rumors
/// ordered by incarnation, then by status (alive < suspect < failed < left), and the
/// heartbeat payload each member last announced.
///
/// Each `apply` says what a rumor changed, and the engine turns that into suspicion
/// timers, logs, metrics and broadcasts. Rumors about this node itself are the
/// engine's to refute; they never reach these rules.
struct Membership: Sendable {
    /// Every member this node knows, itself included.
    var members: MemberTable
    /// The latest heartbeat payload heard from each member.
    private(set) var heartbeats: [NodeID: NodeHeartbeat] = [:]
    /// The incarnation each held payload came with (`carriesNewerHeartbeat`).
    private var heartbeatIncarnations: [NodeID: UInt64] = [:]
    /// How many times a member's tags changed here.
    private(set) var tagChanges: UInt64 = 0
    /// Members whose alive record this node learned quietly (with no hops left to pass it
    /// on: from a member list, an ack, a heartbeat) and has not passed on yet.
    private(set) var unrelayed: Set<NodeID> = []

    init(members: MemberTable) {
        self.members = members
    }

    // MARK: Rumors

    /// What an alive rumor changed.
    enum AliveChange: Equatable {
        /// A member this node did not know.
        case joined
        /// A newer incarnation of a known member: `previous` is the status it replaced,
        /// `moved` whether its address changed too.
        case newLife(previous: MemberStatus, moved: Bool)
        /// A later heartbeat payload of the life this node holds.
        case heartbeat
    }

    /// Applies an alive rumor at `now`. `tagsChanged` is set when a known member's
    /// payload carried tags other than the ones held (a newcomer's come with its join).
    mutating func applyAlive(_ rumor: MemberRumor, now: Instant) -> (change: AliveChange, tagsChanged: Bool)? {
        guard let member = members[rumor.subject] else {
            members.upsert(
                Member(
                    id: rumor.subject, address: rumor.address, incarnation: rumor.incarnation, status: .alive,
                    statusChangedAt: now))
            _ = keepHeartbeat(of: rumor)
            return (.joined, false)
        }
        if rumor.incarnation > member.incarnation {
            members.update(rumor.subject) {
                $0.incarnation = rumor.incarnation
                $0.address = rumor.address
                if $0.status != .alive {
                    $0.status = .alive
                    $0.statusChangedAt = now
                }
            }
            let tags = keepHeartbeat(of: rumor)
            return (.newLife(previous: member.status, moved: member.address != rumor.address), tags)
        }
        // Same life, newer payload: a later heartbeat, or the payload of an incarnation
        // this node learned first from an ack, which carries none (the member's tags
        // changed, and its rumor came behind the ack).
        if rumor.incarnation == member.incarnation, member.status == .alive, carriesNewerHeartbeat(rumor) {
            return (.heartbeat, keepHeartbeat(of: rumor))
        }
        return nil
    }

    /// What a suspect rumor changed.
    enum SuspectChange: Equatable {
        /// A live member is now suspect; its status was `previous`.
        case suspected(previous: MemberStatus)
        /// The member was already suspect at this incarnation: another report of it,
        /// which may confirm the suspicion.
        case reported
    }

    /// Applies a suspect rumor at `now`: only a live member, at its incarnation or later.
    mutating func applySuspect(_ rumor: MemberRumor, now: Instant) -> SuspectChange? {
        guard let member = members[rumor.subject], member.status.isLive,
            rumor.incarnation >= member.incarnation
        else { return nil }
        if member.status == .suspect && rumor.incarnation == member.incarnation { return .reported }
        members.update(rumor.subject) {
            $0.incarnation = rumor.incarnation
            $0.status = .suspect
            $0.statusChangedAt = now
        }
        return .suspected(previous: member.status)
    }

    /// Applies a failed or left rumor at `now`: failed overrides alive and suspect at the
    /// same incarnation, left overrides everything at the same incarnation, and a
    /// tombstone changes only for a newer incarnation. Returns the status it replaced.
    mutating func applyDeparture(_ rumor: MemberRumor, now: Instant) -> MemberStatus? {
        guard let member = members[rumor.subject] else { return nil }
        let newer = rumor.incarnation > member.incarnation
        let outranks = rumor.incarnation == member.incarnation && rumor.status.rank > member.status.rank
        guard newer || outranks else { return nil }
        members.update(rumor.subject) {
            $0.incarnation = rumor.incarnation
            $0.status = rumor.status
            $0.statusChangedAt = now
        }
        return member.status
    }

    /// Whether a rumor that arrived with `ttl` hops left, and `changed` this view or not,
    /// is passed on. One that changed it is, if it has hops left; an alive record that
    /// changed it without hops left was learned quietly (from a member list, an ack, a
    /// heartbeat).
    ///
    /// A join's announcement spreads only through nodes that relay it. A node that
    /// already knew the newcomer from a member list would otherwise stay silent, and
    /// when most nodes join at once, most know most newcomers that way, so the
    /// announcement dies out before it reaches everyone. So the first broadcast of a
    /// quietly learned record, at the incarnation held, is passed on once.
    mutating func passesOn(_ rumor: MemberRumor, changed: Bool, ttl: UInt8) -> Bool {
        if changed, ttl > 1 {
            unrelayed.remove(rumor.subject)
            return true
        }
        if changed {
            if rumor.status == .alive { unrelayed.insert(rumor.subject) }
            return false
        }
        guard ttl > 1, rumor.status == .alive, unrelayed.contains(rumor.subject),
            let member = members[rumor.subject], member.status == .alive, member.incarnation == rumor.incarnation
        else { return false }
        unrelayed.remove(rumor.subject)
        return true
    }

    // MARK: Heartbeats

    /// Whether `rumor` carries a heartbeat payload newer than the one held for its
    /// subject: of a later incarnation, or a later heartbeat of the same one. The
    /// sequence alone would not do: a restarted member counts from 0 again.
    func carriesNewerHeartbeat(_ rumor: MemberRumor) -> Bool {
        guard let heartbeat = rumor.heartbeat else { return false }
        guard let held = heartbeats[rumor.subject], let heldIncarnation = heartbeatIncarnations[rumor.subject] else {
            return true
        }
        return rumor.incarnation > heldIncarnation
            || (rumor.incarnation == heldIncarnation && heartbeat.sequence > held.sequence)
    }

    /// Whether a member-list record says nothing this view does not hold: the member is
    /// alive here at the same incarnation and address, with a payload at least as fresh.
    func holds(_ record: MemberRumor) -> Bool {
        guard record.status == .alive, let known = members[record.subject], known.status == .alive,
            known.incarnation == record.incarnation, known.address == record.address
        else { return false }
        return !carriesNewerHeartbeat(record)
    }

    /// Keeps the payload `rumor` carries, with the rumor's incarnation. Tags that differ
    /// from the ones held are counted (`tagChanges`); returns whether they replaced a
    /// payload held before.
    private mutating func keepHeartbeat(of rumor: MemberRumor) -> Bool {
        guard let heartbeat = rumor.heartbeat else { return false }
        let previous = heartbeats.updateValue(heartbeat, forKey: rumor.subject)
        heartbeatIncarnations[rumor.subject] = rumor.incarnation
        guard (previous?.tags ?? .none) != heartbeat.tags else { return false }
        tagChanges &+= 1
        return previous != nil
    }

    /// This node's own tags changed.
    mutating func ownTagsChanged() {
        tagChanges &+= 1
    }

    // MARK: Tombstones

    /// Failed and left members other than `me` whose status changed before `cutoff`.
    func expiredTombstones(before cutoff: Instant, me: NodeID) -> [Member] {
        // The table counts tombstones: without any, skip the pass over every member, which
        // in a 10,000-node simulation every node makes at the same instant.
        guard members.count(.failed) + members.count(.left) > 0 else { return [] }
        return members.all.filter { !$0.status.isLive && $0.id != me && $0.statusChangedAt < cutoff }
    }

    /// Forgets a member entirely.
    mutating func forget(_ id: NodeID) {
        members.remove(id)
        heartbeats[id] = nil
        heartbeatIncarnations[id] = nil
        unrelayed.remove(id)
    }
}
