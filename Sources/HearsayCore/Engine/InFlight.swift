/// What the engine tracks while an exchange is under way: a probe awaiting its ack and
/// nacks, an indirect probe relayed for another member, an anti-entropy session with a
/// peer, a gossip round awaiting its sessions.
struct ProbeInFlight: Sendable {
    var sequence: UInt64
    var target: NodeID
    var incarnation: UInt64
    var sentAt: Instant
    var acked = false
    var expectedNacks = 0
    var nacks = 0
}

struct Relay: Sendable {
    var requester: PeerAddress
    var requesterSequence: UInt64
}

struct SyncSession: Sendable {
    var peer: NodeID
    var round: UInt64
    /// Buckets still to ask about, the next last (a stack).
    var remaining: [Int] = []
    var bits = 0
    /// This store's bytes in each bucket, to size pages by.
    var weights: [Int] = []
    /// Pages asked for so far.
    var pages = 0
    /// Set once the exchange streams: it left its round, which no longer waits for it.
    var streaming = false
    /// Set once the peer answered the opening digest (on either transport).
    var answered = false
    /// The opening digest as sent: a retry sends the same, so both answers agree.
    var root: SyncStep? = nil
}

struct RoundInFlight: Sendable {
    var number: UInt64
    var start: Instant
    var pending: Set<UInt64>
}
