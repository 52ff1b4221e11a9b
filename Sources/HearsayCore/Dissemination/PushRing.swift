/// The targets of an eager push: the live members on a ring ordered by name, reached at
/// power-of-two distances, as a broadcast over Chord's fingers (El-Ansary et al.,
/// "Efficient Broadcast in Structured P2P Networks", IPTPS 2003).
///
/// The origin of an update tells the members 1, 2, 4... places after it on the ring. A
/// member that hears of it from `d` places behind tells those less than 2d places after
/// itself, and not as far as the origin (the writer, named in the update). Every
/// distance is a sum of distinct powers of two, so the fingers below d alone make a
/// tree that reaches every member once, in at most log2 N hops, when each first hears
/// from its parent in it; the fingers from d to 2d send each member a second copy from
/// another sender, which covers the other orders of arrival and one lost datagram. An
/// update then costs about two sends a member, where random pushes needed ln N + 2 to
/// leave few members out, and still left one out now and then (e^-(ln N + 2) of them),
/// who then waited seconds for anti-entropy. Members whose views differ (a newcomer not
/// yet known to all) or lost datagrams can still leave one out: the three
/// retransmissions the gossip ticks keep, and anti-entropy, are the safety net.
struct PushRing: Sendable {
    /// Live members and this node, by name.
    private(set) var members: [Member] = []
    private var positions: [NodeID: Int] = [:]
    /// Positions by gossip address: a relayed update names its writer, not its relayer,
    /// so the relayer is known by the address its frame came from.
    private var byAddress: [PeerAddress: Int] = [:]
    /// The live-set digest (`MemberTable.liveSetDigest`) the ring was built from.
    private(set) var digest: UInt64?

    /// Rebuilds the ring when the live members changed since it was built.
    mutating func refresh(from table: MemberTable, digest: UInt64) {
        guard digest != self.digest else { return }
        members = table.all.filter { $0.status.isLive }.sorted { $0.id < $1.id }
        positions = [:]
        byAddress = [:]
        positions.reserveCapacity(members.count)
        byAddress.reserveCapacity(members.count)
        for (position, member) in members.enumerated() {
            positions[member.id] = position
            byAddress[member.address] = position
        }
        self.digest = digest
    }

    /// The members `me` tells of an update from `origin` that came from the member at
    /// `sender` (nil: its own), by the rule above. Empty when `me` is not on the ring.
    func targets(of me: NodeID, from sender: PeerAddress?, origin: NodeID?) -> [Member] {
        let n = members.count
        guard n > 1, let mine = positions[me] else { return [] }
        // How far behind the sender is; an unknown sender counts as the origin, so that
        // nothing is left out, at the cost of more sends.
        var distance = n
        if let sender, let theirs = byAddress[sender], theirs != mine {
            distance = (mine - theirs + n) % n
        }
        // How far ahead the origin is: the arc left to cover ends there.
        var arc = n
        if let origin, let theirs = positions[origin], theirs != mine {
            arc = (theirs - mine + n) % n
        }
        let limit = min(arc, 2 * distance)
        var chosen: [Member] = []
        var offset = 1
        while offset < limit {
            let target = members[(mine + offset) % n]
            if target.address != sender { chosen.append(target) }
            offset <<= 1
        }
        return chosen
    }
}
