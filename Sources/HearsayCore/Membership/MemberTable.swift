/// The members a node knows, with O(1) lookup by id and by position.
///
/// A value type: in a simulation of thousands of nodes that start with the same view,
/// every engine shares one copy until it changes something.
public struct MemberTable: Sendable {
    private(set) var members: [Member] = []
    private var index: [NodeID: Int] = [:]
    private var counts = [Int](repeating: 0, count: MemberStatus.allCases.count)
    /// The XOR of every member's `recordHash`: an order-independent digest of the
    /// whole list, kept up to date on every change so that comparing two nodes' lists
    /// costs O(1) instead of a pass over thousands of members.
    public private(set) var digest: UInt64 = 0
    /// The XOR of `ringHash` over the live members: it changes only when a member goes
    /// live or stops being live, or moves, and not on the incarnations and suspicions
    /// that change `digest` all the time, so that what is built from the live set alone
    /// (`PushRing`, sorted by name) is rebuilt only when that set changes.
    private(set) var liveSetDigest: UInt64 = 0

    /// Creates an empty table.
    public init() {}

    /// Creates a table holding `members` (later duplicates replace earlier ones).
    public init(_ members: [Member]) {
        self.members.reserveCapacity(members.count)
        index.reserveCapacity(members.count)
        for member in members { upsert(member) }
    }

    /// How many members, of any status.
    public var count: Int { members.count }

    /// All members in table order.
    public var all: [Member] { members }

    /// The member with `id`, if known.
    public subscript(id: NodeID) -> Member? {
        index[id].map { members[$0] }
    }

    /// The member at `position` (0..<count).
    subscript(position position: Int) -> Member { members[position] }

    /// Inserts or replaces the member with the same id.
    package mutating func upsert(_ member: Member) {
        counts[member.status.rank] += 1
        digest ^= Self.recordHash(member)
        if let i = index[member.id] {
            counts[members[i].status.rank] -= 1
            digest ^= Self.recordHash(members[i])
            liveSetDigest ^= Self.ringChange(from: members[i], to: member)
            members[i] = member
        } else {
            index[member.id] = members.count
            liveSetDigest ^= Self.ringHash(member)
            members.append(member)
        }
    }

    /// Changes the member with `id` in place; returns false when unknown.
    @discardableResult
    mutating func update(_ id: NodeID, _ change: (inout Member) -> Void) -> Bool {
        guard let i = index[id] else { return false }
        counts[members[i].status.rank] -= 1
        digest ^= Self.recordHash(members[i])
        let before = members[i]
        change(&members[i])
        counts[members[i].status.rank] += 1
        digest ^= Self.recordHash(members[i])
        liveSetDigest ^= Self.ringChange(from: before, to: members[i])
        return true
    }

    /// Removes the member with `id`. The last member takes its position.
    package mutating func remove(_ id: NodeID) {
        guard let i = index.removeValue(forKey: id) else { return }
        counts[members[i].status.rank] -= 1
        digest ^= Self.recordHash(members[i])
        liveSetDigest ^= Self.ringHash(members[i])
        let last = members.removeLast()
        if i < members.count {
            members[i] = last
            index[last.id] = i
        }
    }

    /// How many members have each status.
    public func countsByStatus() -> [MemberStatus: Int] {
        Dictionary(uniqueKeysWithValues: MemberStatus.allCases.map { ($0, counts[$0.rank]) })
    }

    /// How many members have `status`, in O(1).
    public func count(_ status: MemberStatus) -> Int { counts[status.rank] }

    /// Alive and suspect members, this node included.
    public var liveCount: Int { counts[MemberStatus.alive.rank] + counts[MemberStatus.suspect.rank] }

    /// A live member's id and address hashed; 0 for one that is not live.
    private static func ringHash(_ member: Member) -> UInt64 {
        guard member.status.isLive else { return 0 }
        var hasher = StableHash()
        hasher.combine(member.id.rawValue)
        hasher.combine(member.address.rawValue)
        return hasher.finalize()
    }

    /// What replacing `old` with `new` (the same id) changes in `liveSetDigest`: nothing,
    /// without hashing, while it stays live (or not) at the same address.
    private static func ringChange(from old: Member, to new: Member) -> UInt64 {
        guard old.status.isLive != new.status.isLive || old.address != new.address else { return 0 }
        return ringHash(old) ^ ringHash(new)
    }

    /// The hash of what a member-list record says about a member: id, address,
    /// incarnation and status, the fields that decide whether a peer's record is news.
    /// Heartbeat payloads and local times are left out: they differ between nodes that
    /// agree on the membership, and would make equal lists look different.
    package static func recordHash(_ member: Member) -> UInt64 {
        var hasher = StableHash()
        hasher.combine(member.id.rawValue)
        hasher.combine(member.address.rawValue)
        hasher.combine(member.incarnation)
        hasher.combine(UInt64(member.status.wireCode))
        return hasher.finalize()
    }
}
