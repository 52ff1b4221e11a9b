/// The Go original's six message types, and the keyring's.
public enum GossipMessageType: String, CaseIterable, Sendable, Codable {
    /// A membership rumor: a member is alive (with its heartbeat payload), suspect,
    /// failed or left.
    case heartbeat
    /// A step of digest-based anti-entropy between two stores.
    case metadataSync = "metadata_sync"
    /// One new version of a metadata entry, disseminated by gossip.
    case contextUpdate = "context_update"
    /// A member list exchange: join, periodic push-pull, reconnection.
    case peerDiscovery = "peer_discovery"
    /// Concurrent versions of an entry were found; carries all of them.
    case conflictAlert = "conflict_alert"
    /// SWIM's probe: ping, ping-req, ack and nack.
    case healthCheck = "health_check"
    /// A change to the cluster's keyring and its answers (`KeyringMessage`).
    case keyring

    /// The one-byte code used on the wire.
    public var wireCode: UInt8 {
        switch self {
        case .heartbeat: 1
        case .metadataSync: 2
        case .contextUpdate: 3
        case .peerDiscovery: 4
        case .conflictAlert: 5
        case .healthCheck: 6
        case .keyring: 7
        }
    }

    /// The type for a wire code, or nil for an unknown one.
    public init?(wireCode: UInt8) {
        guard let type = Self.allCases.first(where: { $0.wireCode == wireCode }) else { return nil }
        self = type
    }
}
