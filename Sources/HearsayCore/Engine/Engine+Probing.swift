/// SWIM failure detection: one probe per period in shuffled round-robin, indirect
/// probes through k others, suspicion, and Lifeguard's local health.
extension Engine {
    mutating func probeTick() {
        judgeProbe()
        let period = localHealth.scaled(config.probeInterval)
        arm(.probe, at: now + period)
        // A leaving node stops judging others: its view no longer matters.
        guard lifecycle == .running, let target = nextProbeTarget() else { return }
        let sequence = makeSequence()
        probe = ProbeInFlight(
            sequence: sequence, target: target.id, incarnation: target.incarnation, sentAt: now)
        sendDatagram(
            message(.healthCheck(.ping(sequence: sequence, target: target.id))), to: target.address)
        arm(.probeTimeout(sequence: sequence), at: now + localHealth.scaled(config.probeTimeout))
    }

    private mutating func nextProbeTarget() -> Member? {
        // Every other period, a suspect this node has not probed itself goes first: if it
        // answers, its ack carries the incarnation of a refutation this node may have
        // missed. Alternating keeps the round-robin going when many are suspect.
        probeSuspectNext.toggle()
        // The oldest such suspicion, by a rule that does not depend on dictionary order
        // (Swift seeds its hashing per process, and the engine must be deterministic).
        let unprobed = suspicions.lazy.filter { !$0.value.probedHere }
        if probeSuspectNext,
            let id = unprobed.min(by: { ($0.value.start, $0.key) < ($1.value.start, $1.key) })?.key
        {
            suspicions[id]?.probedHere = true
            if let member = members[id], member.status == .suspect { return member }
        }
        // At most one pass: every position is visited once before any repeats.
        for _ in 0..<members.count {
            guard let position = schedule.next(count: members.count, using: &random) else { return nil }
            let member = members[position: position]
            if member.id != config.nodeID && member.status.isLive { return member }
        }
        return nil
    }

    /// Settles the probe of the period that just ended.
    private mutating func judgeProbe() {
        guard let finished = probe else { return }
        probe = nil
        if finished.acked {
            localHealth.apply(-1)
            return
        }
        // Nacks prove our own link works; missing nacks point at us, not at the target.
        let missingNacks = finished.expectedNacks - finished.nacks
        localHealth.apply(finished.expectedNacks == 0 || missingNacks > 0 ? 1 : 0)
        guard let member = members[finished.target], member.status.isLive,
            member.incarnation == finished.incarnation
        else { return }
        let suspected = applyRumor(
            MemberRumor(
                subject: member.id, address: member.address, incarnation: member.incarnation,
                status: .suspect,
                reporter: config.nodeID),
            ttl: .max)
        // Told at once, every member's suspicion starts within milliseconds of this
        // one, and the member hears it and refutes a probe interval sooner.
        if suspected { pushMembershipNews() }
    }

    mutating func probeTimedOut(_ sequence: UInt64) {
        guard var current = probe, current.sequence == sequence, !current.acked,
            let target = members[current.target]
        else { return }
        let helpers = randomMembers(count: config.indirectChecks) {
            $0.status == .alive && $0.id != current.target
        }
        for helper in helpers {
            sendDatagram(
                message(
                    .healthCheck(.pingRequest(sequence: sequence, target: target.id, address: target.address))
                ),
                to: helper.address)
        }
        current.expectedNacks = helpers.count
        probe = current
        if config.streamFallbackProbe {
            send(
                [message(.healthCheck(.ping(sequence: sequence, target: target.id)))], to: target.address,
                via: .stream)
        }
    }

    mutating func handleHealthCheck(
        _ check: HealthCheck, from: PeerAddress, sender: NodeID, transport: Transport
    ) {
        switch check {
        case .ping(let sequence, let target):
            guard target == config.nodeID else {
                drop(.healthCheck, .wrongTarget)
                return
            }
            if transport == .stream {
                // A fallback ping: answer on a stream too, to where the sender listens.
                send(
                    [message(.healthCheck(.ack(sequence: sequence, incarnation: incarnation)))],
                    to: replyAddress(sender, from), via: .stream)
            } else {
                sendDatagram(
                    message(.healthCheck(.ack(sequence: sequence, incarnation: incarnation))), to: from)
            }
        case .ack(let sequence, let incarnation):
            if var current = probe, current.sequence == sequence, !current.acked {
                current.acked = true
                probe = current
                if sender == current.target {
                    metric(.probeRTT(now - current.sentAt))
                }
                learnIncarnation(of: current.target, incarnation)
            } else if let relay = relays.removeValue(forKey: sequence) {
                sendDatagram(
                    message(.healthCheck(.ack(sequence: relay.requesterSequence, incarnation: incarnation))),
                    to: relay.requester)
            }
        case .pingRequest(let sequence, let target, let address):
            let own = makeSequence()
            relays[own] = Relay(requester: from, requesterSequence: sequence)
            sendDatagram(message(.healthCheck(.ping(sequence: own, target: target))), to: address)
            // Lifeguard answers a nack at 80% of the timeout, before the requester gives up.
            arm(.relayTimeout(sequence: own), at: now + config.probeTimeout * 0.8)
        case .nack(let sequence):
            if var current = probe, current.sequence == sequence {
                current.nacks += 1
                probe = current
            }
        }
    }

    /// An ack showed `id` alive at `incarnation`: if that refutes what this node holds,
    /// take it as the member's own alive rumor (its broadcast is already spreading, so
    /// this is not relayed).
    private mutating func learnIncarnation(of id: NodeID, _ incarnation: UInt64) {
        guard let member = members[id], member.status.isLive, incarnation > member.incarnation else {
            return
        }
        applyRumor(
            MemberRumor(subject: id, address: member.address, incarnation: incarnation, status: .alive),
            ttl: 1)
    }

    mutating func relayTimedOut(_ sequence: UInt64) {
        guard let relay = relays.removeValue(forKey: sequence) else { return }
        sendDatagram(
            message(.healthCheck(.nack(sequence: relay.requesterSequence))), to: relay.requester)
    }

    /// The suspicion timer of `id` fired: declare it failed if its deadline has passed
    /// (confirmations may have moved the deadline earlier and re-armed the timer, so an
    /// older timer may fire late and must not act twice).
    mutating func suspicionMayHaveExpired(_ id: NodeID) {
        guard let suspicion = suspicions[id], now >= suspicion.deadline,
            let member = members[id], member.status == .suspect,
            member.incarnation == suspicion.incarnation
        else { return }
        let declared = applyRumor(
            MemberRumor(
                subject: id, address: member.address, incarnation: member.incarnation, status: .failed,
                reporter: config.nodeID),
            ttl: .max)
        if declared { pushMembershipNews() }
    }

    /// Starts or confirms the suspicion of `member` reported by `reporter`; returns
    /// whether anything changed.
    mutating func suspect(_ member: Member, incarnation: UInt64, reporter: NodeID) -> Bool {
        if var existing = suspicions[member.id], existing.incarnation == incarnation {
            guard existing.confirm(by: reporter) else { return false }
            suspicions[member.id] = existing
            arm(.suspicion(member.id), at: existing.deadline)
            return true
        }
        let n = members.liveCount
        let minimum = Suspicion.minimumTimeout(
            multiplier: config.suspicionMultiplier, clusterSize: n, probeInterval: config.probeInterval)
        let suspicion = Suspicion(
            incarnation: incarnation, start: now, minimum: minimum,
            maximum: minimum * Double(config.suspicionMaxTimeoutMultiplier),
            expectedConfirmations: Suspicion.expectedConfirmations(
                multiplier: config.suspicionMultiplier, clusterSize: n),
            reporter: reporter)
        suspicions[member.id] = suspicion
        arm(.suspicion(member.id), at: suspicion.deadline)
        return true
    }
}
