/// The Go original's heartbeat payload: what a node says about itself besides being alive.
///
/// It is gossiped with the node's alive rumors and kept per member; liveness itself
/// comes from probes, not from heartbeats.
public struct NodeHeartbeat: Hashable, Sendable {
    /// Increases with every heartbeat a node sends, so a newer payload replaces an older
    /// one at the same incarnation.
    public var sequence: UInt64
    /// The node's load as reported by its host (the Go original's `load`).
    public var load: Double
    /// The software version the node runs.
    public var version: String
    /// What the node can do, e.g. `context_distribution`, `replication`.
    public var capabilities: [String]
    /// What the node says about itself (`--tag`).
    public var tags: MemberTags

    /// Creates a heartbeat payload.
    public init(
        sequence: UInt64 = 0, load: Double = 0, version: String, capabilities: [String], tags: MemberTags = .none
    ) {
        self.sequence = sequence
        self.load = load
        self.version = version
        self.capabilities = capabilities
        self.tags = tags
    }

    /// The capability strings on the wire: the capabilities, then one per tag. Tags ride
    /// in the capability list so that the payload's layout is protocol 1's: a node that
    /// knows no tags reads them as capabilities it does not have.
    package var wireCapabilities: [String] {
        tags.isEmpty ? capabilities : capabilities + tags.capabilities
    }

    /// Encoded length per `WireSize`'s rules: sequence varint, load 8 bytes, version,
    /// capability strings.
    package var wireSize: Int {
        WireSize.varint(sequence) + 8 + WireSize.string(version) + WireSize.strings(wireCapabilities)
    }
}
