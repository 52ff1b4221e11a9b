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
        guard membership.passesOn(rumor, changed: changed, ttl: ttl) else { return false }
        return enqueueRumor(rumor, ttl: min(config.dissemination.broadcastTTL, ttl - 1)) != .refused
    }

    private mutating func applyAlive(_ rumor: MemberRumor) -> Bool {
        guard let (change, tagsChanged) = membership.applyAlive(rumor, now: now) else { return false }
        if tagsChanged { logTagsChanged(rumor, tags: rumor.heartbeat?.tags ?? .none) }
        switch change {
        case .joined:
            log(.info, "member_joined", "member joined", memberFields(rumor, previous: nil))
        case .newLife(let previous, let moved):
            failureDetector.clearSuspicion(of: rumor.subject)
            if previous != .alive {
                let event = previous == .suspect ? "member_refuted" : "member_rejoined"
                log(.info, event, "member is alive", memberFields(rumor, previous: previous))
            } else if moved {
                log(
                    .info, "member_moved", "member moved to a new address",
                    memberFields(rumor, previous: .alive))
            }
        case .heartbeat:
            break
        }
        return true
    }

    private mutating func applySuspect(_ rumor: MemberRumor) -> Bool {
        guard let change = membership.applySuspect(rumor, now: now) else { return false }
        let reporter = rumor.reporter ?? config.nodeID
        switch change {
        case .reported:
            // Lifeguard: an independent report of the same suspicion shortens it.
            return suspect(rumor.subject, incarnation: rumor.incarnation, reporter: reporter)
        case .suspected(let previous):
            _ = suspect(rumor.subject, incarnation: rumor.incarnation, reporter: reporter)
            statisticsStorage.suspicions += 1
            metric(.suspicionRaised)
            log(.notice, "member_suspect", "member is suspected", memberFields(rumor, previous: previous))
            return true
        }
    }

    private mutating func applyDeparture(_ rumor: MemberRumor) -> Bool {
        guard let previous = membership.applyDeparture(rumor, now: now) else { return false }
        failureDetector.clearSuspicion(of: rumor.subject)
        if previous == rumor.status { return true }
        if rumor.status == .failed {
            statisticsStorage.failureDetections += 1
            metric(.failureDetected)
            log(.warning, "member_failed", "member failed", memberFields(rumor, previous: previous))
        } else {
            log(.info, "member_left", "member left", memberFields(rumor, previous: previous))
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
        membership.members.update(config.nodeID) { $0.incarnation = incarnation }
        statisticsStorage.refutations += 1
        metric(.refuted)
        failureDetector.suspectedHere()
        log(
            .notice, "refuted", "refuted a rumor about this node",
            [
                LogField("claimed", rumor.status.rawValue),
                LogField("reporter", rumor.reporter?.rawValue ?? "-"),
                LogField("incarnation", "\(incarnation)"),
            ])
        enqueueRumor(selfRumor(status: .alive), ttl: config.dissemination.broadcastTTL)
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
        let admission = dissemination.queue.enqueue(gossip, key: .member(rumor.subject), kind: .membership)
        admitted(admission, .heartbeat)
        return admission
    }

    /// Gossips a fresh heartbeat payload (the Go original's periodic heartbeat). Like the
    /// Go original's, it goes to a few random peers and is not relayed (ttl 1): relaying every
    /// node's heartbeat through the whole cluster would cost N x retransmit limit
    /// messages each, most of the traffic of a large cluster. Everyone else learns the
    /// payload from member-list exchanges, which carry it.
    mutating func announceHeartbeat() {
        guard lifecycle == .running else { return }
        heartbeatSequence += 1
        enqueueRumor(selfRumor(status: .alive), ttl: 1)
    }
}
