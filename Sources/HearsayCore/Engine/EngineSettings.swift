/// SWIM failure detection with Lifeguard (`FailureDetector`).
public struct FailureDetectionSettings: Sendable, Equatable {
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

    /// memberlist's LAN defaults.
    public init() {}

    func validate() throws(ValidationError) {
        try Setting.check(
            probeInterval >= .milliseconds(10) && probeInterval <= .seconds(60), "probe interval",
            Setting.seconds(probeInterval), "10ms to 60s")
        try Setting.check(
            probeTimeout >= .milliseconds(1) && probeTimeout < probeInterval, "probe timeout",
            Setting.seconds(probeTimeout), "1ms up to less than the probe interval")
        try Setting.check((0...16).contains(indirectChecks), "indirect checks", "\(indirectChecks)", "0 to 16")
        try Setting.check(
            (1...100).contains(suspicionMultiplier), "suspicion multiplier", "\(suspicionMultiplier)", "1 to 100")
        try Setting.check(
            (1...100).contains(suspicionMaxTimeoutMultiplier), "suspicion max timeout multiplier",
            "\(suspicionMaxTimeoutMultiplier)", "1 to 100")
        try Setting.check(
            (1...64).contains(localHealthMaximum), "local health maximum", "\(localHealthMaximum)", "1 to 64")
    }
}

/// Broadcasts and the datagrams that carry them (`Dissemination`).
public struct DisseminationSettings: Sendable, Equatable {
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
    /// How long failed members still receive gossip, so they learn they were declared
    /// failed and refute.
    public var gossipToTheDead: Duration = .seconds(30)

    /// memberlist's LAN defaults.
    public init() {}

    /// The bytes of a datagram left for messages once the frame overhead is reserved.
    public var datagramBudget: Int { maxDatagramBytes - frameOverheadBytes }

    func validate() throws(ValidationError) {
        try Setting.check(
            gossipTick >= .milliseconds(10) && gossipTick <= .seconds(60), "gossip tick",
            Setting.seconds(gossipTick), "10ms to 60s")
        try Setting.check((1...64).contains(gossipNodes), "gossip nodes", "\(gossipNodes)", "1 to 64")
        try Setting.check(
            (1...64).contains(retransmitMultiplier), "retransmit multiplier", "\(retransmitMultiplier)", "1 to 64")
        try Setting.check(broadcastTTL >= 1, "broadcast ttl", "\(broadcastTTL)", "1 to 255")
        try Setting.check(
            (1...1_000_000).contains(messageBufferSize), "message buffer size", "\(messageBufferSize)",
            "1 to 1000000")
        try Setting.check(
            (512...65_507).contains(maxDatagramBytes), "max datagram bytes", "\(maxDatagramBytes)", "512 to 65507")
        try Setting.check(
            (0...256).contains(frameOverheadBytes), "frame overhead bytes", "\(frameOverheadBytes)", "0 to 256")
    }
}

/// Liveness announcements, joining and leaving.
public struct MembershipSettings: Sendable, Equatable {
    /// How often a node gossips its heartbeat payload (the Go original's 30 s).
    public var heartbeatInterval: Duration = .seconds(30)
    /// How long a join waits for a join seed to answer.
    public var joinTimeout: Duration = .seconds(5)
    /// The longest a graceful leave waits for its announcement to spread.
    public var leaveTimeout: Duration = .seconds(5)
    /// Member-list exchanges a node makes with random members after it joins, at 1, 2,
    /// 4... probe intervals (`FailureDetectionSettings.probeInterval`) apart (`Engine.catchUp`). When many nodes join at once, a
    /// node misses some newcomers' announcements (lost datagrams, a retransmit budget
    /// sized for the few members it knew then) and would otherwise learn of them only at
    /// a periodic exchange, minutes apart in a large cluster. 0 turns them off.
    public var catchUpExchanges: Int = 5

    /// The Go original's heartbeat interval and memberlist's timeouts.
    public init() {}

    func validate() throws(ValidationError) {
        try Setting.check(
            heartbeatInterval >= .milliseconds(100), "heartbeat interval", Setting.seconds(heartbeatInterval),
            "at least 100ms")
        try Setting.check(
            joinTimeout >= .milliseconds(10), "join timeout", Setting.seconds(joinTimeout), "at least 10ms")
        try Setting.check(
            leaveTimeout >= .milliseconds(10), "leave timeout", Setting.seconds(leaveTimeout), "at least 10ms")
        try Setting.check(
            (0...16).contains(catchUpExchanges), "catch-up exchanges", "\(catchUpExchanges)", "0 to 16")
    }
}

/// The Go original's gossip rounds, made anti-entropy (`AntiEntropy`).
public struct AntiEntropySettings: Sendable, Equatable {
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

    /// The Go original's defaults.
    public init() {}

    func validate() throws(ValidationError) {
        try Setting.check(
            EngineConfig.gossipIntervalRange.contains(gossipInterval), "gossip interval",
            Setting.seconds(gossipInterval), "1s to 1h")
        try Setting.check((1...64).contains(maxGossipPeers), "max gossip peers", "\(maxGossipPeers)", "1 to 64")
        try Setting.check(
            syncTimeout >= .milliseconds(10), "sync timeout", Setting.seconds(syncTimeout), "at least 10ms")
        try Setting.check(syncPageBytes >= 4096, "sync page bytes", "\(syncPageBytes)", "at least 4096")
    }
}
