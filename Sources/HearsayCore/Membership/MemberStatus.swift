/// The state of a member as one node sees it.
public enum MemberStatus: String, CaseIterable, Sendable, Codable {
    /// Answering probes, or not yet suspected.
    case alive
    /// A probe failed; the member has until its suspicion times out to refute.
    case suspect
    /// The suspicion timed out: the member is considered crashed. Kept as a tombstone.
    case failed
    /// The member announced a graceful leave. Kept as a tombstone, never reported as failed.
    case left

    /// At the same incarnation, a rumor of higher rank overrides one of lower rank.
    var rank: Int {
        switch self {
        case .alive: 0
        case .suspect: 1
        case .failed: 2
        case .left: 3
        }
    }

    /// Whether the member takes part in probing and gossip.
    public var isLive: Bool { self == .alive || self == .suspect }

    /// The one-byte code used on the wire.
    public var wireCode: UInt8 { UInt8(rank) }

    /// The status for a wire code, or nil for an unknown code.
    public init?(wireCode: UInt8) {
        switch wireCode {
        case 0: self = .alive
        case 1: self = .suspect
        case 2: self = .failed
        case 3: self = .left
        default: return nil
        }
    }
}
