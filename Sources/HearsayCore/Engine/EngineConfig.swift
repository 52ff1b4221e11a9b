/// Everything that tunes one node's protocol, with memberlist's LAN defaults so that
/// side-by-side comparisons with serf are fair, and the Go original's gossip round settings.
public struct EngineConfig: Sendable, Equatable {
    /// This node's stable name.
    public var nodeID: NodeID
    /// Where peers reach this node.
    public var address: PeerAddress
    /// The software version announced in heartbeats.
    public var version: String = "0.1.0"
    /// The capabilities announced in heartbeats (the Go original's defaults).
    public var capabilities: [String] = ["context_distribution", "replication"]
    /// The tags this node starts with; `Engine.setTags` changes them.
    public var tags: MemberTags = .none

    // MARK: Failure detection (SWIM with Lifeguard)

    /// How often one member is probed.
    public var probeInterval: Duration = .seconds(1)
    /// How long a direct ping waits for its ack before indirect probes start.
    public var probeTimeout: Duration = .milliseconds(500)
    /// How many members are asked to probe indirectly.
    public var indirectChecks: Int = 3
    /// Whether a probe that got no datagram ack also pings its target over a stream
    /// (memberlist's TCP ping, on by default): datagram loss alone then cannot make a
    /// reachable member suspect.
    public var streamFallbackProbe = true
    /// Minimum suspicion timeout = multiplier x max(1, log10 N) x probe interval.
    public var suspicionMultiplier: Int = 4
    /// The suspicion timeout without confirmations, as a multiple of the minimum.
    public var suspicionMaxTimeoutMultiplier: Int = 6
    /// The most a node's own poor health may stretch its probe interval and timeout.
    public var localHealthMaximum: Int = 8

    // MARK: Dissemination

    /// How often queued broadcasts are gossiped to `gossipNodes` random members.
    public var gossipTick: Duration = .milliseconds(200)
    /// How many members each gossip tick, and each immediate push, reaches.
    public var gossipNodes: Int = 3
    /// Whether news is passed on at once along the push ring (`PushRing`, about two sends
    /// a member), rather than at the next gossip tick: a write, a metadata update or a
    /// membership change new to this node, a newcomer's announcement of itself, a
    /// suspicion or failure this node declares. The sends come out of the broadcast's
    /// retransmit budget, of which the ticks then keep three.
    public var eagerPush = true
    /// Each broadcast is sent about multiplier x ceil(log10(N + 1)) times.
    public var retransmitMultiplier: Int = 4
    /// Relay hops a new rumor may travel.
    public var broadcastTTL: UInt8 = 32
    /// The message buffer: the most broadcasts waiting to be sent; more are dropped.
    public var messageBufferSize: Int = 1000
    /// The largest datagram, frame headers included.
    public var maxDatagramBytes: Int = 1400
    /// Bytes of each datagram reserved for the frame: header, key id, nonce, tag, HMAC.
    public var frameOverheadBytes: Int = 96
    /// Member-list exchanges a node makes with random members after it joins, at 1, 2,
    /// 4... probe intervals apart (`Engine.catchUp`). When many nodes join at once, a
    /// node misses some newcomers' announcements (lost datagrams, a retransmit budget
    /// sized for the few members it knew then) and would otherwise learn of them only at
    /// a periodic exchange, minutes apart in a large cluster. 0 turns them off.
    public var catchUpExchanges: Int = 5
    /// How long failed members still receive gossip, so they learn they were declared
    /// failed and refute.
    public var gossipToTheDead: Duration = .seconds(30)

    // MARK: Gossip rounds (anti-entropy), as in the Go original

    /// The Go original's gossip interval: one anti-entropy round per interval.
    public var gossipInterval: Duration = .seconds(30)
    /// The Go original's `maxGossipPeers`: up to this many random peers per round.
    public var maxGossipPeers: Int = 5
    /// How long a round waits for its exchanges before it counts them as failed; an
    /// exchange that streams pages gets this long for each page.
    public var syncTimeout: Duration = .seconds(10)
    /// The most bytes of versions, summaries and requests one anti-entropy message
    /// carries; larger differences stream in pages of this size (`SyncMessage`). The
    /// node keeps it well under its largest stream frame.
    public var syncPageBytes: Int = 1 << 20

    // MARK: Liveness announcements and housekeeping

    /// How often a node gossips its heartbeat payload (the Go original's 30 s).
    public var heartbeatInterval: Duration = .seconds(30)
    /// How long failed and left members and deleted entries are kept (the Go original's 24 h).
    public var tombstoneGrace: Duration = .seconds(24 * 3600)
    /// How often tombstones past their grace period are purged.
    public var reapInterval: Duration = .seconds(60)
    /// How long a join waits for a seed to answer.
    public var joinTimeout: Duration = .seconds(5)
    /// The longest a graceful leave waits for its announcement to spread.
    public var leaveTimeout: Duration = .seconds(5)

    /// Limits on metadata entries.
    public var metadataLimits = MetadataLimits()

    /// Creates a configuration with defaults for everything but identity.
    public init(nodeID: NodeID, address: PeerAddress) {
        self.nodeID = nodeID
        self.address = address
    }

    /// The valid range of the Go original's gossip interval.
    public static let gossipIntervalRange: ClosedRange<Duration> = .seconds(1)...(.seconds(3600))

    /// Checks every value; the error names the setting, the value and the allowed range.
    public func validate() throws(ValidationError) {
        func check(_ ok: Bool, _ setting: String, _ value: String, _ allowed: String)
            throws(ValidationError)
        {
            if !ok { throw ValidationError(setting: setting, value: value, allowed: allowed) }
        }
        func seconds(_ d: Duration) -> String { "\(d.seconds)s" }
        try check(
            Self.gossipIntervalRange.contains(gossipInterval), "gossip interval", seconds(gossipInterval),
            "1s to 1h")
        try check(
            probeInterval >= .milliseconds(10) && probeInterval <= .seconds(60), "probe interval",
            seconds(probeInterval), "10ms to 60s")
        try check(
            probeTimeout >= .milliseconds(1) && probeTimeout < probeInterval, "probe timeout",
            seconds(probeTimeout), "1ms up to less than the probe interval")
        try check((0...16).contains(indirectChecks), "indirect checks", "\(indirectChecks)", "0 to 16")
        for capability in capabilities {
            try check(
                !capability.isEmpty && capability.utf8.count <= 128
                    && !capability.hasPrefix(MemberTags.capabilityPrefix),
                "capability", capability, "1 to 128 bytes, not starting with \(MemberTags.capabilityPrefix) (tags)")
        }
        try check(
            (1...100).contains(suspicionMultiplier), "suspicion multiplier", "\(suspicionMultiplier)",
            "1 to 100")
        try check(
            (1...100).contains(suspicionMaxTimeoutMultiplier), "suspicion max timeout multiplier",
            "\(suspicionMaxTimeoutMultiplier)", "1 to 100")
        try check(
            (1...64).contains(localHealthMaximum), "local health maximum", "\(localHealthMaximum)",
            "1 to 64")
        try check(
            gossipTick >= .milliseconds(10) && gossipTick <= .seconds(60), "gossip tick",
            seconds(gossipTick),
            "10ms to 60s")
        try check((1...64).contains(gossipNodes), "gossip nodes", "\(gossipNodes)", "1 to 64")
        try check(
            (1...64).contains(retransmitMultiplier), "retransmit multiplier", "\(retransmitMultiplier)",
            "1 to 64")
        try check(broadcastTTL >= 1, "broadcast ttl", "\(broadcastTTL)", "1 to 255")
        try check(
            (1...1_000_000).contains(messageBufferSize), "message buffer size", "\(messageBufferSize)",
            "1 to 1000000")
        try check(
            (512...65_507).contains(maxDatagramBytes), "max datagram bytes", "\(maxDatagramBytes)",
            "512 to 65507")
        try check(
            (0...256).contains(frameOverheadBytes), "frame overhead bytes", "\(frameOverheadBytes)",
            "0 to 256")
        try check((1...64).contains(maxGossipPeers), "max gossip peers", "\(maxGossipPeers)", "1 to 64")
        try check(
            syncTimeout >= .milliseconds(10), "sync timeout", seconds(syncTimeout), "at least 10ms")
        try check(syncPageBytes >= 4096, "sync page bytes", "\(syncPageBytes)", "at least 4096")
        try check(
            heartbeatInterval >= .milliseconds(100), "heartbeat interval", seconds(heartbeatInterval),
            "at least 100ms")
        try check(
            tombstoneGrace >= .seconds(1), "tombstone grace", seconds(tombstoneGrace), "at least 1s")
        try check(reapInterval >= .seconds(1), "reap interval", seconds(reapInterval), "at least 1s")
        try check(
            joinTimeout >= .milliseconds(10), "join timeout", seconds(joinTimeout), "at least 10ms")
        try check(
            leaveTimeout >= .milliseconds(10), "leave timeout", seconds(leaveTimeout), "at least 10ms")
        try check(
            (0...16).contains(catchUpExchanges), "catch-up exchanges", "\(catchUpExchanges)", "0 to 16")
        try metadataLimits.validate()
    }

    /// The bytes of a datagram left for messages once the frame overhead is reserved.
    public var datagramBudget: Int { maxDatagramBytes - frameOverheadBytes }
}
