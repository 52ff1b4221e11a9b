/// One entry of the member table.
public struct Member: Hashable, Sendable {
    /// The member's stable name.
    public var id: NodeID
    /// Where it is reached now; a higher incarnation may move it.
    public var address: PeerAddress
    /// Raised only by the member itself, to refute suspicion or to re-announce itself
    /// after a restart; orders rumors about it.
    public var incarnation: UInt64
    /// Its state as this node sees it.
    public var status: MemberStatus
    /// When `status` last changed here; tombstones are purged a grace period after it.
    public var statusChangedAt: Instant

    /// Creates a member entry.
    public init(
        id: NodeID, address: PeerAddress, incarnation: UInt64, status: MemberStatus,
        statusChangedAt: Instant
    ) {
        self.id = id
        self.address = address
        self.incarnation = incarnation
        self.status = status
        self.statusChangedAt = statusChangedAt
    }
}
