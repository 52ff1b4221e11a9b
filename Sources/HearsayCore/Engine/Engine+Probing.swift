/// SWIM failure detection, as the engine carries out `FailureDetector`'s decisions: one
/// probe per period, indirect probes through k others, the stream fallback, and the
/// rumors a verdict or an expired suspicion starts.
extension Engine {
    mutating func probeTick() {
        judgeProbe()
        arm(.probe, at: now + failureDetector.probeInterval)
        // A leaving node stops judging others: its view no longer matters.
        guard lifecycle == .running,
            let target = failureDetector.nextTarget(in: membership.members, me: config.nodeID, using: &random)
        else { return }
        let sequence = makeSequence()
        failureDetector.began(
            ProbeInFlight(sequence: sequence, target: target.id, incarnation: target.incarnation, sentAt: now))
        sendDatagram(
            message(.healthCheck(.ping(sequence: sequence, target: target.id))), to: target.address)
        arm(.probeTimeout(sequence: sequence), at: now + failureDetector.probeTimeout)
    }

    /// Settles the probe of the period that just ended: a target that did not answer,
    /// still at the incarnation probed, is suspected.
    private mutating func judgeProbe() {
        guard case .unanswered(let target, let probed) = failureDetector.judge(),
            let member = members[target], member.status.isLive, member.incarnation == probed
        else { return }
        let suspected = applyRumor(
            MemberRumor(
                subject: member.id, address: member.address, incarnation: member.incarnation,
                status: .suspect, reporter: config.nodeID),
            ttl: .max)
        // Told at once, every member's suspicion starts within milliseconds of this
        // one, and the member hears it and refutes a probe interval sooner.
        if suspected { pushMembershipNews() }
    }

    mutating func probeTimedOut(_ sequence: UInt64) {
        guard let current = failureDetector.unanswered(sequence), let target = members[current.target] else {
            return
        }
        let helpers = randomMembers(count: config.failureDetection.indirectChecks) {
            $0.status == .alive && $0.id != current.target
        }
        for helper in helpers {
            sendDatagram(
                message(
                    .healthCheck(.pingRequest(sequence: sequence, target: target.id, address: target.address))
                ),
                to: helper.address)
        }
        failureDetector.awaitNacks(helpers.count)
        if config.failureDetection.streamFallbackProbe {
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
            switch failureDetector.acked(sequence) {
            case .probe(let probe):
                if sender == probe.target {
                    metric(.probeRTT(now - probe.sentAt))
                }
                learnIncarnation(of: probe.target, incarnation)
            case .relay(let relay):
                sendDatagram(
                    message(.healthCheck(.ack(sequence: relay.requesterSequence, incarnation: incarnation))),
                    to: relay.requester)
            case .none:
                break
            }
        case .pingRequest(let sequence, let target, let address):
            let own = makeSequence()
            failureDetector.relaying(own, for: Relay(requester: from, requesterSequence: sequence))
            sendDatagram(message(.healthCheck(.ping(sequence: own, target: target))), to: address)
            // Lifeguard answers a nack at 80% of the timeout, before the requester gives up.
            arm(.relayTimeout(sequence: own), at: now + config.failureDetection.probeTimeout * 0.8)
        case .nack(let sequence):
            failureDetector.nacked(sequence)
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
        guard let relay = failureDetector.relayExpired(sequence) else { return }
        sendDatagram(
            message(.healthCheck(.nack(sequence: relay.requesterSequence))), to: relay.requester)
    }

    /// The suspicion timer of `id` fired: declare it failed if its deadline has passed
    /// and it is still suspect in the life suspected.
    mutating func suspicionMayHaveExpired(_ id: NodeID) {
        guard let suspicion = failureDetector.expired(id, now: now),
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

    /// Starts or confirms the suspicion of `id` reported by `reporter`, arming its timer;
    /// returns whether anything changed.
    mutating func suspect(_ id: NodeID, incarnation: UInt64, reporter: NodeID) -> Bool {
        guard
            let deadline = failureDetector.suspect(
                id, incarnation: incarnation, reporter: reporter, liveCount: members.liveCount, now: now)
        else { return false }
        arm(.suspicion(id), at: deadline)
        return true
    }
}
