/// Membership rumors: the rules that order alive, suspect, failed and left by
/// incarnation, refutation, and heartbeats.
extension Engine {
    /// Applies a rumor that arrived with `ttl` relay hops left (`.max` for rumors this
    /// node starts); a rumor that changed this node's view is gossiped on. Returns
    /// whether it was queued to pass on.
    @discardableResult
    mutating func applyRumor(_ rumor: MemberRumor, ttl: UInt8) -> Bool {
        if rumor.subject == config.nodeID {
            rumorAboutMe(rumor)
            return false
        }
        let changed: Bool
        switch rumor.status {
        case .alive: changed = applyAlive(rumor)
        case .suspect: changed = applySuspect(rumor)
        case .failed, .left: changed = applyDeparture(rumor)
        }
        if changed, ttl > 1 {
            unrelayed.remove(rumor.subject)
            return enqueueRumor(rumor, ttl: min(config.broadcastTTL, ttl - 1)) != .refused
        } else if changed {
            if rumor.status == .alive { unrelayed.insert(rumor.subject) }
        } else if ttl > 1, rumor.status == .alive, unrelayed.contains(rumor.subject),
            members[rumor.subject].map({ $0.status == .alive && $0.incarnation == rumor.incarnation })
                == true
        {
            // A join's announcement spreads only through nodes that relay it. A node
            // that already knew the newcomer from a member list would otherwise stay
            // silent, and when most nodes join at once, most know most newcomers that
            // way, so the announcement dies out before it reaches everyone. The first
            // broadcast of a quietly learned record is passed on once.
            unrelayed.remove(rumor.subject)
            return enqueueRumor(rumor, ttl: min(config.broadcastTTL, ttl - 1)) != .refused
        }
        return false
    }

    private mutating func applyAlive(_ rumor: MemberRumor) -> Bool {
        guard let member = members[rumor.subject] else {
            members.upsert(
                Member(
                    id: rumor.subject, address: rumor.address, incarnation: rumor.incarnation, status: .alive,
                    statusChangedAt: now))
            keepHeartbeat(of: rumor, announce: false)
            log(.info, "member_joined", "member joined", memberFields(rumor, previous: nil))
            return true
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
            suspicions[rumor.subject] = nil
            keepHeartbeat(of: rumor, announce: true)
            if member.status != .alive {
                let event = member.status == .suspect ? "member_refuted" : "member_rejoined"
                log(.info, event, "member is alive", memberFields(rumor, previous: member.status))
            } else if member.address != rumor.address {
                log(
                    .info, "member_moved", "member moved to a new address",
                    memberFields(rumor, previous: .alive))
            }
            return true
        }
        // Same life, newer payload: a later heartbeat, or the payload of an incarnation
        // this node learned first from an ack, which carries none (the member's tags
        // changed, and its rumor came behind the ack).
        if rumor.incarnation == member.incarnation, member.status == .alive, carriesNewerHeartbeat(rumor) {
            keepHeartbeat(of: rumor, announce: true)
            return true
        }
        return false
    }

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

    private mutating func applySuspect(_ rumor: MemberRumor) -> Bool {
        guard let member = members[rumor.subject], member.status.isLive,
            rumor.incarnation >= member.incarnation
        else { return false }
        let reporter = rumor.reporter ?? config.nodeID
        if member.status == .suspect && rumor.incarnation == member.incarnation {
            // Lifeguard: an independent report of the same suspicion shortens it.
            return suspect(member, incarnation: rumor.incarnation, reporter: reporter)
        }
        members.update(rumor.subject) {
            $0.incarnation = rumor.incarnation
            $0.status = .suspect
            $0.statusChangedAt = now
        }
        _ = suspect(member, incarnation: rumor.incarnation, reporter: reporter)
        statisticsStorage.suspicions += 1
        metric(.suspicionRaised)
        log(
            .notice, "member_suspect", "member is suspected", memberFields(rumor, previous: member.status)
        )
        return true
    }

    /// Failed and left: failed overrides alive and suspect at the same incarnation, left
    /// overrides everything at the same incarnation, and a tombstone changes only for a
    /// newer incarnation.
    private mutating func applyDeparture(_ rumor: MemberRumor) -> Bool {
        guard let member = members[rumor.subject] else { return false }
        let newer = rumor.incarnation > member.incarnation
        let outranks = rumor.incarnation == member.incarnation && rumor.status.rank > member.status.rank
        guard newer || outranks else { return false }
        members.update(rumor.subject) {
            $0.incarnation = rumor.incarnation
            $0.status = rumor.status
            $0.statusChangedAt = now
        }
        suspicions[rumor.subject] = nil
        if member.status == rumor.status { return true }
        if rumor.status == .failed {
            statisticsStorage.failureDetections += 1
            metric(.failureDetected)
            log(.warning, "member_failed", "member failed", memberFields(rumor, previous: member.status))
        } else {
            log(.info, "member_left", "member left", memberFields(rumor, previous: member.status))
        }
        return true
    }

    private func memberFields(_ rumor: MemberRumor, previous: MemberStatus?) -> [LogField] {
        var fields = [
            LogField("member", rumor.subject.rawValue), LogField("address", rumor.address.rawValue),
            LogField("incarnation", "\(rumor.incarnation)"), LogField("status", rumor.status.rawValue),
        ]
        if let previous { fields.append(LogField("previous", previous.rawValue)) }
        if let reporter = rumor.reporter { fields.append(LogField("reporter", reporter.rawValue)) }
        return fields
    }

    /// Rumors about this node: anything but "alive at my incarnation and address" is
    /// refuted with a higher incarnation, unless this node is leaving.
    private mutating func rumorAboutMe(_ rumor: MemberRumor) {
        guard lifecycle == .running else { return }
        let refute: Bool
        switch rumor.status {
        case .alive:
            // An echo of an earlier life (higher incarnation, or our name at another address).
            refute =
                rumor.incarnation > incarnation
                || (rumor.incarnation == incarnation && rumor.address != config.address)
        case .suspect, .failed, .left:
            refute = rumor.incarnation >= incarnation
        }
        guard refute else { return }
        incarnation = max(incarnation, rumor.incarnation) + 1
        members.update(config.nodeID) { $0.incarnation = incarnation }
        statisticsStorage.refutations += 1
        metric(.refuted)
        // Being suspected hints that our own probes or links are slow (Lifeguard).
        localHealth.apply(1)
        log(
            .notice, "refuted", "refuted a rumor about this node",
            [
                LogField("claimed", rumor.status.rawValue),
                LogField("reporter", rumor.reporter?.rawValue ?? "-"),
                LogField("incarnation", "\(incarnation)"),
            ])
        enqueueRumor(selfRumor(status: .alive), ttl: config.broadcastTTL)
        spreadOwnNews()
    }

    /// A rumor about this node with its current incarnation and heartbeat.
    func selfRumor(status: MemberStatus) -> MemberRumor {
        MemberRumor(
            subject: config.nodeID, address: config.address, incarnation: incarnation, status: status,
            reporter: status == .alive ? nil : config.nodeID,
            heartbeat: status == .alive ? ownHeartbeat : nil)
    }

    @discardableResult
    mutating func enqueueRumor(_ rumor: MemberRumor, ttl: UInt8) -> BroadcastQueue.Admission {
        let gossip = message(.heartbeat(rumor), ttl: ttl)
        let admission = broadcasts.enqueue(gossip, key: .member(rumor.subject), kind: .membership)
        admitted(admission, .heartbeat)
        return admission
    }

    /// Gossips a fresh heartbeat payload (the Go original's periodic heartbeat). Like the
    /// seed's, it goes to a few random peers and is not relayed (ttl 1): relaying every
    /// node's heartbeat through the whole cluster would cost N x retransmit limit
    /// messages each, most of the traffic of a large cluster. Everyone else learns the
    /// payload from member-list exchanges, which carry it.
    mutating func announceHeartbeat() {
        guard lifecycle == .running else { return }
        heartbeatSequence += 1
        enqueueRumor(selfRumor(status: .alive), ttl: 1)
    }
}
