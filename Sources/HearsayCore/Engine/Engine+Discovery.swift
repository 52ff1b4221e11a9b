/// Joining through join seeds, member list exchange (the Go original's peer_discovery),
/// graceful leave, and purging tombstones.
extension Engine {
    /// Asks each join seed for its member list. The host retries with fresh DNS
    /// answers while `state.joined` is false after the join timeout.
    public mutating func join(seeds: [PeerAddress], now: Instant) throws(EngineError) -> [Effect] {
        self.now = now
        guard isRunning else { throw .notRunning }
        let targets = seeds.filter { $0 != config.address }
        guard !targets.isEmpty else { return [] }
        joined = false
        joinAttempt += 1
        for seed in targets {
            send([message(.peerDiscovery(.request(members: memberRecords())))], to: seed, via: .stream)
        }
        // One timeout for attempts that follow each other faster than it (the host's
        // retry interval may be shorter): each new attempt must not push it back, or a
        // join that never succeeds would never say so.
        if !joinTimeoutArmed {
            joinTimeoutArmed = true
            arm(.joinTimeout(attempt: joinAttempt), at: now + config.membership.joinTimeout)
        }
        log(
            .info, "join_started", "joining the cluster",
            [LogField("seeds", targets.map(\.rawValue).joined(separator: ","))])
        return takeEffects()
    }

    mutating func joinTimedOut(_ attempt: UInt64) {
        joinTimeoutArmed = false
        guard !joined else { return }
        networkError()
        log(
            .warning, "join_timeout", "no seed answered the join",
            [LogField("attempt", "\(joinAttempt)"), LogField("since_attempt", "\(attempt)")])
    }

    mutating func handleDiscovery(
        _ discovery: PeerDiscovery, sender: NodeID, from: PeerAddress, transport: Transport
    ) {
        switch discovery {
        case .digest(let digest):
            // Answering a differing digest with a request, not a response, makes the
            // initiator merge this list and answer with its own, so both sides end up
            // with the union exactly as when the round sent its whole list. A list
            // always streams; agreement goes back the way the digest came.
            if digest != members.digest {
                send(
                    [message(.peerDiscovery(.request(members: memberRecords())))], to: replyAddress(sender, from),
                    via: .stream)
            } else if transport == .datagram {
                sendDatagram(message(.peerDiscovery(.inSync)), to: replyAddress(sender, from))
            } else {
                send([message(.peerDiscovery(.inSync))], to: replyAddress(sender, from), via: .stream)
            }
        case .inSync:
            break
        case .request(let records):
            mergeList(records, from: sender)
            send(
                [message(.peerDiscovery(.response(members: memberRecords())))],
                to: replyAddress(sender, from),
                via: .stream)
        case .response(let records):
            mergeList(records, from: sender)
            if !joined {
                joined = true
                log(.info, "joined", "joined the cluster", [LogField("via", sender.rawValue)])
                // The newcomer announces itself along the ring, now that it knows the
                // ring: the Go original's gossip ticks would take a tick a hop.
                if config.dissemination.eagerPush {
                    enqueueRumor(selfRumor(status: .alive), ttl: config.dissemination.broadcastTTL)
                    pushMembershipNews()
                }
                // Anti-entropy at once, as memberlist's push-pull on join: a node that
                // joins, or comes back after a crash, then holds what its peers hold
                // within a round trip instead of at its next round (up to a gossip
                // interval later), serving stale data meanwhile.
                if antiEntropy.round == nil { runRound() }
                if config.membership.catchUpExchanges > 0 {
                    arm(.catchUp(attempt: joinAttempt, step: 0), at: now + config.failureDetection.probeInterval)
                }
            }
        }
    }

    /// One of the member-list exchanges that follow a join, with a random live member:
    /// its digest first, so a list that already agrees costs two small messages. Spaced
    /// 1, 2, 4... probe intervals apart: during a mass join the lists differ most in the
    /// first seconds, and each exchange merges both sides, so what one node missed is
    /// found at another within a few exchanges (push-pull anti-entropy of the member
    /// list), where the periodic exchange comes once every few gossip rounds. A later
    /// join attempt starts its own series; this one then stops.
    mutating func catchUp(attempt: UInt64, step: Int) {
        guard lifecycle == .running, attempt == joinAttempt, step < config.membership.catchUpExchanges else { return }
        if let peer = randomMembers(count: 1, where: { $0.status == .alive }).first {
            send([message(.peerDiscovery(.digest(members.digest)))], to: peer.address, via: .stream)
        }
        let next = step + 1
        if next < config.membership.catchUpExchanges {
            arm(
                .catchUp(attempt: attempt, step: next),
                at: now + config.failureDetection.probeInterval * (1 << min(next, 16)))
        }
    }

    private mutating func mergeList(_ records: [MemberRumor], from sender: NodeID) {
        // Most of a large cluster's list is records this node holds already; skipping
        // them early keeps an exchange of 10,000 records cheap.
        for record in records where record.subject == config.nodeID || !membership.holds(record) {
            merge(record, from: sender)
        }
    }

    /// Merges one record of a peer's member list. A peer's "failed" is taken only as a
    /// suspicion, as memberlist does: its list may be old, and the member gets the
    /// chance to refute.
    ///
    ///
    /// Alive records are gossiped on only when the sender speaks of itself: that is how
    /// a joining node is announced, while the rest is what the cluster already knows and
    /// rebroadcasting thousands of members on every join would flood the buffer.
    /// Suspicions and leaves that change this node's view are gossiped on, so that a
    /// suspected member hears of it and refutes (after a partition heals, this is how
    /// each side learns the other is alive).
    private mutating func merge(_ record: MemberRumor, from sender: NodeID) {
        var rumor = record
        if rumor.status == .failed || rumor.status == .suspect {
            rumor.status = .suspect
            rumor.reporter = sender
        }
        // A sender's record of itself announces it only when it is news about its life
        // (a newcomer, a new incarnation, back from suspect or failed). A fresher heartbeat
        // payload alone is not gossiped on: every member-list exchange carries one, and
        // relaying them all would flood a large cluster.
        let known = members[rumor.subject]
        let news =
            rumor.status != .alive
            || (rumor.subject == sender
                && (known.map { $0.status != .alive || rumor.incarnation > $0.incarnation } ?? true))
        applyRumor(rumor, ttl: news ? .max : 1)
    }

    /// This node's whole member list, as rumors.
    func memberRecords() -> [MemberRumor] {
        members.all.map { member in
            member.id == config.nodeID
                ? selfRumor(status: lifecycle == .leaving || lifecycle == .left ? .left : .alive)
                : MemberRumor(
                    subject: member.id, address: member.address, incarnation: member.incarnation,
                    status: member.status, heartbeat: membership.heartbeats[member.id])
        }
    }

    /// Announces a graceful leave. Peers mark this node `left`, never `failed`. The
    /// engine emits `.leaveCompleted` once the announcement has been sent its full
    /// number of times, or after the leave timeout; then the host stops it.
    public mutating func leave(now: Instant) throws(EngineError) -> [Effect] {
        self.now = now
        guard isRunning else { throw .notRunning }
        guard lifecycle == .running else { throw .alreadyLeaving }
        lifecycle = .leaving
        failureDetector.stopProbing()
        membership.members.update(config.nodeID) {
            $0.status = .left
            $0.statusChangedAt = now
        }
        log(.info, "leaving", "leaving the cluster")
        // Nobody live to tell (the last member, or one cut off): waiting for the
        // announcement to spread would only hold up the stop for the leave timeout.
        guard members.liveCount > 0 else {
            finishLeave()
            return takeEffects()
        }
        enqueueRumor(selfRumor(status: .left), ttl: config.dissemination.broadcastTTL)
        gossipBroadcasts()
        arm(.leave, at: now + config.membership.leaveTimeout)
        return takeEffects()
    }

    mutating func finishLeave() {
        guard lifecycle == .leaving, !leaveCompleted else { return }
        leaveCompleted = true
        effects.append(.leaveCompleted)
        log(.info, "left", "left the cluster")
    }

    /// Forgets failed and left members and deleted entries past the grace period.
    mutating func reapTombstones() {
        let expired = membership.expiredTombstones(before: now - config.tombstoneGrace, me: config.nodeID)
        for member in expired { membership.forget(member.id) }
        let purged = store.reapTombstones(now: now, grace: config.tombstoneGrace)
        if !expired.isEmpty || purged > 0 {
            log(
                .info, "tombstones_purged", "purged tombstones past the grace period",
                [LogField("members", "\(expired.count)"), LogField("entries", "\(purged)")])
        }
    }
}
