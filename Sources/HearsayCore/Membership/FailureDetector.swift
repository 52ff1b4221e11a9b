/// SWIM's failure detector with Lifeguard's refinements: whom to probe next, the probe
/// of the current period, the indirect probes this node relays for others, suspicions
/// and their timeouts, and local health.
///
/// It decides and remembers; the engine sends the pings, arms the timers and applies
/// the rumors its verdicts call for, so every rule here is testable without messages.
struct FailureDetector: Sendable {
    let settings: FailureDetectionSettings
    /// Lifeguard's local health: how far this node stretches its own probing.
    private(set) var localHealth: LocalHealth
    /// The probe of the current period, until the next period judges it.
    private(set) var probe: ProbeInFlight?
    /// Suspected members, each with its timer state.
    private(set) var suspicions: [NodeID: Suspicion] = [:]
    private var schedule = ProbeSchedule()
    private var suspectNext = false
    /// Indirect probes sent on another member's behalf, by this node's own sequence.
    private var relays: [UInt64: Relay] = [:]

    init(settings: FailureDetectionSettings) {
        self.settings = settings
        self.localHealth = LocalHealth(maximum: settings.localHealthMaximum)
    }

    /// The probe period and timeout as local health stretches them.
    var probeInterval: Duration { localHealth.scaled(settings.probeInterval) }
    var probeTimeout: Duration { localHealth.scaled(settings.probeTimeout) }

    // MARK: Probes

    /// The member to probe this period, or nil when there is none: every other period a
    /// suspect this node has not probed itself (its ack may carry a refutation this node
    /// missed), else the next live member of a shuffled round-robin over `members`.
    mutating func nextTarget(
        in members: MemberTable, me: NodeID, using random: inout SeededGenerator
    ) -> Member? {
        // Alternating keeps the round-robin going when many are suspect.
        suspectNext.toggle()
        // The oldest such suspicion, by a rule that does not depend on dictionary order
        // (Swift seeds its hashing per process, and the engine must be deterministic).
        let unprobed = suspicions.lazy.filter { !$0.value.probedHere }
        if suspectNext,
            let id = unprobed.min(by: { ($0.value.start, $0.key) < ($1.value.start, $1.key) })?.key
        {
            suspicions[id]?.probedHere = true
            if let member = members[id], member.status == .suspect { return member }
        }
        // At most one pass: every position is visited once before any repeats.
        for _ in 0..<members.count {
            guard let position = schedule.next(count: members.count, using: &random) else { return nil }
            let member = members[position: position]
            if member.id != me && member.status.isLive { return member }
        }
        return nil
    }

    /// Remembers the probe just sent.
    mutating func began(_ probe: ProbeInFlight) {
        self.probe = probe
    }

    /// What the probe of the period that just ended showed.
    enum Verdict: Equatable {
        /// Its target answered.
        case answered
        /// No ack came: the target at this incarnation is to be suspected.
        case unanswered(NodeID, incarnation: UInt64)
    }

    /// Settles the probe of the period that just ended, and moves local health by it:
    /// an ack lowers it; a miss raises it unless helpers were asked and every one's nack
    /// came, since nacks prove this node's own link works and missing ones point at it.
    mutating func judge() -> Verdict? {
        guard let finished = probe else { return nil }
        probe = nil
        if finished.acked {
            localHealth.apply(-1)
            return .answered
        }
        let missingNacks = finished.expectedNacks - finished.nacks
        localHealth.apply(finished.expectedNacks == 0 || missingNacks > 0 ? 1 : 0)
        return .unanswered(finished.target, incarnation: finished.incarnation)
    }

    /// The current probe, if `sequence` is it and no ack came yet: its direct timeout
    /// passed, and indirect probes follow.
    func unanswered(_ sequence: UInt64) -> ProbeInFlight? {
        guard let current = probe, current.sequence == sequence, !current.acked else { return nil }
        return current
    }

    /// The indirect probes went to `helpers` members, each of which owes an ack or a nack.
    mutating func awaitNacks(_ helpers: Int) {
        probe?.expectedNacks = helpers
    }

    /// What an ack answered.
    enum AckMatch {
        /// This node's own probe, now acked.
        case probe(ProbeInFlight)
        /// An indirect probe relayed for `Relay.requester`, which is owed the ack.
        case relay(Relay)
        /// Nothing still waiting: a late or duplicate ack.
        case none
    }

    /// Matches an ack with `sequence` to what awaits it.
    mutating func acked(_ sequence: UInt64) -> AckMatch {
        if var current = probe, current.sequence == sequence, !current.acked {
            current.acked = true
            probe = current
            return .probe(current)
        }
        if let relay = relays.removeValue(forKey: sequence) { return .relay(relay) }
        return .none
    }

    /// Counts a helper's nack for the current probe.
    mutating func nacked(_ sequence: UInt64) {
        if probe?.sequence == sequence { probe?.nacks += 1 }
    }

    /// Remembers an indirect probe sent as `sequence` for another member.
    mutating func relaying(_ sequence: UInt64, for relay: Relay) {
        relays[sequence] = relay
    }

    /// The relayed probe `sequence` got no ack in time: its requester is owed a nack.
    mutating func relayExpired(_ sequence: UInt64) -> Relay? {
        relays.removeValue(forKey: sequence)
    }

    /// Drops the probe under way: a leaving node judges nobody (`Engine.probeTick` sends
    /// no more), while the probes it relays for others still get their answers.
    mutating func stopProbing() {
        probe = nil
    }

    /// Forgets every exchange under way (the node stops).
    mutating func stop() {
        probe = nil
        relays.removeAll()
    }

    // MARK: Suspicion

    /// Starts or confirms the suspicion of `id` at `incarnation`, reported by
    /// `reporter`, in a cluster of `liveCount` live members. Returns the deadline to arm
    /// a timer for when anything changed: a new suspicion, or an independent
    /// confirmation, which shortens it (Lifeguard).
    mutating func suspect(
        _ id: NodeID, incarnation: UInt64, reporter: NodeID, liveCount: Int, now: Instant
    ) -> Instant? {
        if var existing = suspicions[id], existing.incarnation == incarnation {
            guard existing.confirm(by: reporter) else { return nil }
            suspicions[id] = existing
            return existing.deadline
        }
        let minimum = Suspicion.minimumTimeout(
            multiplier: settings.suspicionMultiplier, clusterSize: liveCount,
            probeInterval: settings.probeInterval)
        let suspicion = Suspicion(
            incarnation: incarnation, start: now, minimum: minimum,
            maximum: minimum * Double(settings.suspicionMaxTimeoutMultiplier),
            expectedConfirmations: Suspicion.expectedConfirmations(
                multiplier: settings.suspicionMultiplier, clusterSize: liveCount),
            reporter: reporter)
        suspicions[id] = suspicion
        return suspicion.deadline
    }

    /// The suspicion of `id`, if its deadline has passed by `now`. Confirmations may
    /// have moved the deadline earlier and armed another timer, so an older timer can
    /// fire late and must find nothing to act on a second time.
    func expired(_ id: NodeID, now: Instant) -> Suspicion? {
        guard let suspicion = suspicions[id], now >= suspicion.deadline else { return nil }
        return suspicion
    }

    /// The member was refuted, declared failed or left.
    mutating func clearSuspicion(of id: NodeID) {
        suspicions[id] = nil
    }

    /// A rumor suspected this node itself: a hint that its own probes or links are slow.
    mutating func suspectedHere() {
        localHealth.apply(1)
    }
}

/// A probe awaiting its ack and nacks.
struct ProbeInFlight: Sendable {
    var sequence: UInt64
    var target: NodeID
    var incarnation: UInt64
    var sentAt: Instant
    var acked = false
    var expectedNacks = 0
    var nacks = 0
}

/// An indirect probe relayed for another member.
struct Relay: Sendable {
    var requester: PeerAddress
    var requesterSequence: UInt64
}
