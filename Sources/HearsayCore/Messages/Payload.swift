/// The typed body of a message; each case is one of the message types.
public enum Payload: Hashable, Sendable {
    case heartbeat(MemberRumor)
    case metadataSync(SyncMessage)
    case contextUpdate(ContextMetadata)
    case peerDiscovery(PeerDiscovery)
    case conflictAlert(ConflictAlert)
    case healthCheck(HealthCheck)
    case keyring(KeyringMessage)

    /// The message type this payload belongs to.
    public var type: GossipMessageType {
        switch self {
        case .heartbeat: .heartbeat
        case .metadataSync: .metadataSync
        case .contextUpdate: .contextUpdate
        case .peerDiscovery: .peerDiscovery
        case .conflictAlert: .conflictAlert
        case .healthCheck: .healthCheck
        case .keyring: .keyring
        }
    }

    /// Encoded length per `WireSize`'s rules.
    package var wireSize: Int {
        switch self {
        case .heartbeat(let rumor): rumor.wireSize
        case .metadataSync(let sync): sync.wireSize
        case .contextUpdate(let version): version.wireSize
        case .peerDiscovery(let discovery): discovery.wireSize
        case .conflictAlert(let alert): alert.wireSize
        case .healthCheck(let check): check.wireSize
        case .keyring(let message): message.wireSize
        }
    }
}

/// What one node says about one member (the `heartbeat` payload).
public struct MemberRumor: Hashable, Sendable {
    /// The member the rumor is about.
    public var subject: NodeID
    /// Where the member is reached.
    public var address: PeerAddress
    /// The member's incarnation the rumor refers to.
    public var incarnation: UInt64
    /// What the rumor claims.
    public var status: MemberStatus
    /// Who suspects or declared the member failed; a new reporter confirms a suspicion.
    public var reporter: NodeID?
    /// The member's own heartbeat payload, on alive rumors that carry one.
    public var heartbeat: NodeHeartbeat?

    /// Creates a rumor.
    public init(
        subject: NodeID, address: PeerAddress, incarnation: UInt64, status: MemberStatus,
        reporter: NodeID? = nil, heartbeat: NodeHeartbeat? = nil
    ) {
        self.subject = subject
        self.address = address
        self.incarnation = incarnation
        self.status = status
        self.reporter = reporter
        self.heartbeat = heartbeat
    }

    /// Encoded length per `WireSize`'s rules.
    package var wireSize: Int {
        WireSize.string(subject.rawValue) + WireSize.string(address.rawValue)
            + WireSize.varint(incarnation) + 1
            + WireSize.optional(reporter) { WireSize.string($0.rawValue) }
            + WireSize.optional(heartbeat) { $0.wireSize }
    }
}

/// SWIM's probe messages (the `health_check` payload).
public enum HealthCheck: Hashable, Sendable {
    /// Are you alive? `target` names who the sender expects to answer, so a node that
    /// took over a stale address does not answer for someone else.
    case ping(sequence: UInt64, target: NodeID)
    /// Yes: answers a ping, or relays an answer to a ping-req, with the incarnation of
    /// the node that answered: a prober that missed that node's refutation learns it here.
    case ack(sequence: UInt64, incarnation: UInt64 = 0)
    /// Please ping `target` at `address` for me and relay the answer.
    case pingRequest(sequence: UInt64, target: NodeID, address: PeerAddress)
    /// I relayed your ping-req but the target did not answer me either; tells the
    /// requester that its own link works (Lifeguard).
    case nack(sequence: UInt64)

    /// The sequence number the message carries.
    public var sequence: UInt64 {
        switch self {
        case .ping(let s, _), .ack(let s, _), .pingRequest(let s, _, _), .nack(let s): s
        }
    }

    /// Encoded length: a kind byte, the sequence, and the kind's fields.
    package var wireSize: Int {
        let base = 1 + WireSize.varint(sequence)
        switch self {
        case .ping(_, let target): return base + WireSize.string(target.rawValue)
        case .ack(_, let incarnation): return base + WireSize.varint(incarnation)
        case .nack: return base
        case .pingRequest(_, let target, let address):
            return base + WireSize.string(target.rawValue) + WireSize.string(address.rawValue)
        }
    }
}

/// A member list exchange (the `peer_discovery` payload).
///
/// A join sends `request` with the joiner's list and gets the join seed's list back as
/// `response`. A gossip round's push-pull starts with a `digest` instead: the peer
/// answers `inSync` when its list hashes the same, and otherwise sends its own list as
/// a `request`, which the initiator answers with its list as for a join. Equal lists,
/// the usual case in a stable cluster, so cost two small messages instead of two whole
/// lists.
public enum PeerDiscovery: Hashable, Sendable {
    /// Here is my member list; send me yours.
    case request(members: [MemberRumor])
    /// My member list, in answer to a request.
    case response(members: [MemberRumor])
    /// The digest of my member list (`MemberTable.digest`); send me your list as a
    /// request if yours differs.
    case digest(UInt64)
    /// Your digest equals mine: our lists agree.
    case inSync

    /// The member list the message carries; empty for `digest` and `inSync`.
    public var members: [MemberRumor] {
        switch self {
        case .request(let m), .response(let m): m
        case .digest, .inSync: []
        }
    }

    /// Encoded length: a kind byte and the list, or the 8-byte digest.
    package var wireSize: Int {
        switch self {
        case .request(let m), .response(let m): m.reduce(1 + WireSize.varint(m.count)) { $0 + $1.wireSize }
        case .digest: 1 + 8
        case .inSync: 1
        }
    }
}

/// Concurrent versions of one entry (the `conflict_alert` payload).
public struct ConflictAlert: Hashable, Sendable {
    /// The entry in conflict.
    public var address: MetadataAddress
    /// Every sibling version, so receivers hold the same conflict.
    public var versions: [ContextMetadata]

    /// Creates an alert.
    public init(address: MetadataAddress, versions: [ContextMetadata]) {
        self.address = address
        self.versions = versions
    }

    /// Encoded length: the address and the versions.
    package var wireSize: Int {
        versions.reduce(WireSize.string(address.rawValue) + WireSize.varint(versions.count)) {
            $0 + $1.wireSize
        }
    }
}
