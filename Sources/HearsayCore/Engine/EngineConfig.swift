/// Everything that tunes one node's protocol, in a section for each part of the engine,
/// with memberlist's LAN defaults so that side-by-side comparisons with serf are fair,
/// and the Go original's gossip round settings.
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

    /// SWIM's probes and Lifeguard's suspicion and local health.
    public var failureDetection = FailureDetectionSettings()
    /// Broadcasts: gossip ticks, eager push, retransmissions, datagram sizes.
    public var dissemination = DisseminationSettings()
    /// Heartbeats, joining and leaving.
    public var membership = MembershipSettings()
    /// The Go original's gossip rounds, as anti-entropy.
    public var antiEntropy = AntiEntropySettings()

    /// How long failed and left members and deleted entries are kept (the Go original's 24 h).
    public var tombstoneGrace: Duration = .seconds(24 * 3600)
    /// How often tombstones past their grace period are purged.
    public var reapInterval: Duration = .seconds(60)
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
        try antiEntropy.validate()
        try failureDetection.validate()
        for capability in capabilities {
            try Setting.check(
                !capability.isEmpty && capability.utf8.count <= 128
                    && !capability.hasPrefix(MemberTags.capabilityPrefix),
                "capability", capability, "1 to 128 bytes, not starting with \(MemberTags.capabilityPrefix) (tags)")
        }
        try dissemination.validate()
        try membership.validate()
        try Setting.check(
            tombstoneGrace >= .seconds(1), "tombstone grace", Setting.seconds(tombstoneGrace), "at least 1s")
        try Setting.check(
            reapInterval >= .seconds(1), "reap interval", Setting.seconds(reapInterval), "at least 1s")
        try metadataLimits.validate()
    }
}

/// The checks every settings section makes of its values.
enum Setting {
    static func check(_ ok: Bool, _ setting: String, _ value: String, _ allowed: String) throws(ValidationError) {
        if !ok { throw ValidationError(setting: setting, value: value, allowed: allowed) }
    }

    static func seconds(_ d: Duration) -> String { "\(d.seconds)s" }
}
