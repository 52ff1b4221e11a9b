/// One node's whole protocol state: events in, effects out.
///
/// The engine never touches a socket, a clock or a global random source. Its host
/// passes the current `Instant` with every call, gives it a random seed for its generator,
/// and executes the `Effect`s each call returns: the node runtime on real sockets and
/// timers, the simulator on a virtual network. So every protocol rule is testable
/// deterministically, and the same code runs in production.
public struct Engine: Sendable {
    /// The configuration it was created with.
    public let config: EngineConfig

    // The parts, each owning its state and rules; the engine composes them, and turns
    // their decisions into effects.
    /// The member list and the rules that order rumors.
    var membership: Membership
    /// Probes, suspicions and local health.
    var failureDetector: FailureDetector
    /// The broadcast queue, the news of a frame, the push ring.
    var dissemination: Dissemination
    /// Gossip rounds and the exchanges this node opened.
    var antiEntropy: AntiEntropy
    /// The metadata store.
    public internal(set) var store: MetadataStore

    /// This node's incarnation; raised to refute rumors about it.
    public internal(set) var incarnation: UInt64
    /// This node's tags, as its heartbeats announce them.
    public internal(set) var tags: MemberTags
    var heartbeatSequence: UInt64 = 0
    var load: Double = 0

    var statisticsStorage = GossipStatistics()
    var lifecycle: Lifecycle = .stopped
    var epoch: UInt64 = 0
    var random: SeededGenerator
    var nextSequence: UInt64
    var joinAttempt: UInt64 = 0
    var joinTimeoutArmed = false
    var joined = true
    var leaveCompleted = false
    var lastDropLog: [DropReason: Instant] = [:]
    /// Protocol time, monotonic, as of the latest event.
    var now: Instant
    /// What the wall clock read minus protocol time, as the host last said.
    var wallClockOffset: Duration = .zero
    var effects: [Effect] = []

    /// Every member this node knows, itself included.
    public var members: MemberTable { membership.members }
    /// The latest heartbeat payload heard from each member.
    public var heartbeats: [NodeID: NodeHeartbeat] { membership.heartbeats }
    /// How many times a member's tags changed here: with the member table's digest, what
    /// tells the host that the member list it shows changed (`memberListVersion`).
    public var tagChanges: UInt64 { membership.tagChanges }
    /// Lifeguard's local health.
    package var localHealth: LocalHealth { failureDetector.localHealth }

    enum Lifecycle: String, Sendable {
        case stopped, running, leaving, left
    }

    /// Creates an engine.
    ///
    /// - Parameters:
    ///   - config: validated settings; an invalid one throws.
    ///   - incarnation: the incarnation to start at; a restarted node passes its
    ///     persisted incarnation plus one so that its new life wins over the old.
    ///   - store: a persisted store to start from.
    ///   - members: a member list to start from (the simulator hands thousands of
    ///     engines one shared table); this node is added as alive.
    ///   - seed: the random seed of all the engine's randomness.
    ///   - now: the current protocol time (monotonic).
    ///   - wallClock: what the wall clock reads now; `nil` when both clocks are one (the
    ///     simulator).
    public init(
        config: EngineConfig, incarnation: UInt64 = 0, store: MetadataStore? = nil,
        members: MemberTable = MemberTable(), seed: UInt64, now: Instant, wallClock: Instant? = nil
    ) throws(EngineError) {
        do {
            try config.validate()
        } catch {
            throw .invalidConfig(error)
        }
        self.config = config
        self.incarnation = incarnation
        self.store = store ?? MetadataStore(limits: config.metadataLimits)
        self.failureDetector = FailureDetector(settings: config.failureDetection)
        self.random = SeededGenerator(seed: seed)
        self.dissemination = Dissemination(settings: config.dissemination, protecting: .member(config.nodeID))
        self.antiEntropy = AntiEntropy(settings: config.antiEntropy)
        self.now = now
        let wall = wallClock ?? now
        self.wallClockOffset = wall - now
        // Message ids start at the wall clock in microseconds so they stay unique across
        // restarts (the monotonic clock starts again at boot). They name messages in logs
        // and `hearsay decode`; replay protection numbers frames (`ReplayWindow`).
        self.nextSequence = UInt64(max(0, wall.nanoseconds / 1000))
        self.membership = Membership(members: members)
        self.tags = config.tags
        let me = Member(
            id: config.nodeID, address: config.address, incarnation: incarnation, status: .alive,
            statusChangedAt: now)
        if members[config.nodeID] != me {
            self.membership.members.upsert(me)
        }
    }

    // MARK: Lifecycle

    /// Starts probing, gossiping and the Go original's gossip rounds. Starting twice is an error.
    public mutating func start(now: Instant) throws(EngineError) -> [Effect] {
        self.now = now
        guard lifecycle == .stopped || lifecycle == .left else { throw .alreadyRunning }
        if lifecycle == .left {
            // Back after a leave: a new life must outrank the `left` everyone holds.
            incarnation += 1
            membership.members.update(config.nodeID) {
                $0.incarnation = incarnation
                $0.status = .alive
                $0.statusChangedAt = now
            }
        }
        lifecycle = .running
        leaveCompleted = false
        // Timers of an earlier run are ignored from now on, the join's among them.
        epoch += 1
        joinTimeoutArmed = false
        // Spread the first timers over their intervals so that nodes started together
        // do not probe and gossip in lockstep.
        arm(.probe, at: now + jitter(config.failureDetection.probeInterval))
        arm(.gossip, at: now + jitter(config.dissemination.gossipTick))
        let firstRound = now + jitter(config.antiEntropy.gossipInterval)
        antiEntropy.firstRoundDue(at: firstRound)
        arm(.gossipRound, at: firstRound)
        arm(.heartbeat, at: now + jitter(config.membership.heartbeatInterval))
        arm(.reap, at: now + config.reapInterval)
        log(.info, "started", "gossip protocol started", [LogField("incarnation", "\(incarnation)")])
        return takeEffects()
    }

    /// Stops everything at once, without telling anyone (see `leave` for that).
    /// Stopping twice is an error.
    public mutating func stop(now: Instant) throws(EngineError) -> [Effect] {
        self.now = now
        guard lifecycle == .running || lifecycle == .leaving else { throw .notRunning }
        lifecycle = lifecycle == .leaving ? .left : .stopped
        failureDetector.stop()
        antiEntropy.stop()
        log(.info, "stopped", "gossip protocol stopped")
        return takeEffects()
    }

    /// Tells the engine what the wall clock reads at protocol time `now`. The host calls
    /// it whenever it reads its clocks for an event; stamps made afterwards follow the
    /// wall clock, steps included, while every timer stays on protocol time.
    public mutating func setWallClock(_ wall: Instant, at now: Instant) {
        wallClockOffset = wall - now
    }

    /// The wall-clock reading that corresponds to protocol time `instant`, for showing
    /// protocol times (a member's last change, a round's start) to people.
    public func wallClock(at instant: Instant) -> Instant { instant + wallClockOffset }

    /// The wall clock now, as far as the engine knows.
    var wallNow: Instant { now + wallClockOffset }

    /// Whether the engine is started (running or leaving).
    public var isRunning: Bool { lifecycle == .running || lifecycle == .leaving }

    /// Sets the load announced in the next heartbeats.
    public mutating func setLoad(_ load: Double) {
        self.load = load.isFinite ? load : 0
    }

    // MARK: Events

    /// Handles the messages of one frame that arrived from `from` (already verified and
    /// decoded by the wire layer).
    public mutating func receive(
        _ messages: [GossipMessage], from: PeerAddress, transport: Transport, now: Instant
    ) -> [Effect] {
        self.now = now
        for message in messages {
            guard isRunning else {
                drop(message.type, .notRunning)
                continue
            }
            statisticsStorage.messagesReceived += 1
            handle(message, from: from, transport: transport)
        }
        // Once per frame, so that the news of one frame travels on together.
        if let news = dissemination.takeNews(), isRunning {
            pushOnRing(heardFrom: news.sender, origin: news.origin)
            dissemination.pushed(news.keys, limit: retransmitLimit)
        }
        return takeEffects()
    }

    /// Handles a timer the engine armed earlier.
    public mutating func timerFired(_ timer: Timer, now: Instant) -> [Effect] {
        self.now = now
        guard timer.epoch == epoch, isRunning else { return [] }
        switch timer.key {
        case .probe: probeTick()
        case .probeTimeout(let sequence): probeTimedOut(sequence)
        case .relayTimeout(let sequence): relayTimedOut(sequence)
        case .suspicion(let id): suspicionMayHaveExpired(id)
        case .gossip:
            gossipBroadcasts()
            if lifecycle == .leaving && !dissemination.queue.contains(.member(config.nodeID)) {
                finishLeave()
            }
            arm(.gossip, at: now + config.dissemination.gossipTick)
        case .gossipRound: startRound()
        case .roundTimeout(let number): roundTimedOut(number)
        case .pageTimeout(let session, let page): pageTimedOut(session, page: page)
        case .heartbeat:
            announceHeartbeat()
            arm(.heartbeat, at: now + config.membership.heartbeatInterval)
        case .reap:
            reapTombstones()
            arm(.reap, at: now + config.reapInterval)
        case .joinTimeout(let attempt): joinTimedOut(attempt)
        case .leave: finishLeave()
        case .catchUp(let attempt, let step): catchUp(attempt: attempt, step: step)
        case .syncRoot(let session): syncRootTimedOut(session)
        }
        return takeEffects()
    }

    /// Counts a send or connection the host's transport failed on (`network_errors_total`).
    public mutating func recordNetworkError(now: Instant) -> [Effect] {
        self.now = now
        networkError()
        return takeEffects()
    }

    /// Counts a frame the host dropped before decoding it (bad signature, replay...) and
    /// logs it as `frame_rejected` with what the wire layer said, at most once per reason
    /// every 10 s; its messages are unread, so their type is "unknown".
    public mutating func recordRejectedFrame(
        reason: DropReason, detail: String, from: PeerAddress, transport: Transport, now: Instant
    ) -> [Effect] {
        self.now = now
        drop(
            nil, reason, event: "frame_rejected", message: "rejected a frame",
            [LogField("detail", detail), LogField("transport", transport.rawValue), LogField("from", from.rawValue)])
        return takeEffects()
    }

    private mutating func handle(_ message: GossipMessage, from: PeerAddress, transport: Transport) {
        switch message.payload {
        case .healthCheck(let check):
            handleHealthCheck(check, from: from, sender: message.sender, transport: transport)
        case .heartbeat(let rumor):
            if rumor.status == .alive || rumor.reporter != nil {
                if applyRumor(rumor, ttl: message.ttl) {
                    dissemination.noteNews(
                        .member(rumor.subject), from: from, origin: rumor.reporter ?? rumor.subject)
                }
            } else {
                // Suspect and failed rumors must name a reporter: Lifeguard counts them.
                protocolViolation(message.type, "rumor without reporter")
            }
        case .contextUpdate(let version):
            if let outcome = applyRemote(version, type: .contextUpdate), outcome.changed {
                relay(message, key: .version(version.address, version.vectorClock), kind: .metadata, from: from)
            }
        case .conflictAlert(let alert):
            handleConflictAlert(alert, message: message)
        case .peerDiscovery(let discovery):
            handleDiscovery(discovery, sender: message.sender, from: from, transport: transport)
        case .metadataSync(let sync):
            handleSync(sync, sender: message.sender, from: from, transport: transport)
        case .keyring:
            // The host answers these before the engine sees a frame (`KeyringMessage`).
            protocolViolation(message.type, "keyring message handed to the engine")
        }
    }

    // MARK: Effects and helpers shared by the protocol parts

    mutating func takeEffects() -> [Effect] {
        defer { effects.removeAll(keepingCapacity: true) }
        return effects
    }

    mutating func arm(_ key: TimerKey, at instant: Instant) {
        effects.append(.armTimer(Timer(key: key, epoch: epoch), at: instant))
    }

    mutating func metric(_ event: MetricEvent) {
        effects.append(.metric(event))
    }

    mutating func log(
        _ level: LogLevel, _ event: String, _ message: String, _ fields: [LogField] = []
    ) {
        effects.append(.log(LogRecord(level: level, event: event, message: message, fields: fields)))
    }

    /// Counts a dropped message; logs each reason at most once per 10 s so a flood of
    /// bad frames cannot flood the log.
    mutating func drop(
        _ type: GossipMessageType?, _ reason: DropReason, event: String = "message_dropped",
        message: String = "dropped a message", _ fields: [LogField] = []
    ) {
        statisticsStorage.messagesDropped += 1
        metric(.messageDropped(type: type, reason: reason))
        if let last = lastDropLog[reason], now - last < .seconds(10) { return }
        lastDropLog[reason] = now
        log(
            .warning, event, message,
            [LogField("type", type?.rawValue ?? "unknown"), LogField("reason", reason.rawValue)] + fields)
    }

    mutating func protocolViolation(_ type: GossipMessageType, _ detail: String) {
        statisticsStorage.protocolErrors += 1
        metric(.protocolError)
        drop(type, .invalidPayload, [LogField("detail", detail)])
    }

    mutating func networkError() {
        statisticsStorage.networkErrors += 1
        metric(.networkError)
    }

    mutating func makeSequence() -> UInt64 {
        nextSequence += 1
        return nextSequence
    }

    /// Wraps a payload in the Go original's envelope with this node as sender.
    mutating func message(_ payload: Payload, ttl: UInt8 = 1, clock: VectorClock = VectorClock())
        -> GossipMessage
    {
        let priority: Priority
        let reliable: Bool
        switch payload.type {
        case .healthCheck, .heartbeat, .conflictAlert: priority = .high
        case .contextUpdate, .metadataSync, .peerDiscovery, .keyring: priority = .normal
        }
        switch payload.type {
        case .metadataSync, .peerDiscovery: reliable = true
        default: reliable = false
        }
        return GossipMessage(
            id: makeSequence(), sender: config.nodeID,
            timestamp: Instant(nanoseconds: wallNow.milliseconds * 1_000_000), ttl: ttl, vectorClock: clock,
            payload: payload, metadata: MessageMetadata(priority: priority, reliability: reliable))
    }

    mutating func send(_ messages: [GossipMessage], to address: PeerAddress, via transport: Transport) {
        guard !messages.isEmpty else { return }
        statisticsStorage.messagesSent += UInt64(messages.count)
        effects.append(.send(Outbound(to: address, transport: transport, messages: messages)))
    }

    /// A random duration in [0, interval), to desynchronise periodic work.
    mutating func jitter(_ interval: Duration) -> Duration {
        let n = interval.nanoseconds
        guard n > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0..<n, using: &random))
    }
}
