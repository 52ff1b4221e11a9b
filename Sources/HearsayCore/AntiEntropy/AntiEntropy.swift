/// The Go original's gossip rounds as digest-based anti-entropy: the round under way,
/// the exchanges (sessions) this node opened with peers, and how a large difference is
/// cut into pages.
///
/// It keeps the books; the engine sends the digests, summaries and versions, and owns
/// the store they compare. The responder's side of an exchange holds no state, so
/// nothing of it is here.
struct AntiEntropy: Sendable {
    let settings: AntiEntropySettings
    /// The round waiting for its exchanges, if one is.
    private(set) var round: RoundInFlight?
    /// Rounds run so far; the last one's number.
    private(set) var currentRound: UInt64 = 0
    private(set) var lastRoundDuration: Duration = .zero
    /// When the next round is due, for `GossipState`.
    private(set) var nextRoundTime: Instant?
    /// Exchanges this node opened and that have not ended, by session number.
    private(set) var sessions: [UInt64: SyncSession] = [:]
    /// The last sessions whose opening digest went twice (a datagram, then a stream), so
    /// that the second answer to one that has ended is ignored, not counted as a drop.
    private var resentSessions: [UInt64] = []

    init(settings: AntiEntropySettings) {
        self.settings = settings
    }

    /// A round that ended: the engine counts it, and each exchange it still waited for
    /// as a network error.
    struct FinishedRound: Equatable {
        var number: UInt64
        var duration: Duration
        var unanswered: Int
        var timedOut: Bool
    }

    // MARK: Rounds

    /// How long a round waits for its exchanges; an opening digest sent as a datagram
    /// waits half of it before it goes again over a stream.
    var roundTimeout: Duration { min(settings.syncTimeout, settings.gossipInterval) }

    /// The first round of a run is due at `instant`.
    mutating func firstRoundDue(at instant: Instant) {
        nextRoundTime = instant
    }

    /// The round timer fired at `now`: the round still open, if any, ends as timed out,
    /// and the next is due one interval later.
    mutating func roundDue(now: Instant) -> FinishedRound? {
        nextRoundTime = now + settings.gossipInterval
        guard let unfinished = round else { return nil }
        return finish(unfinished, timedOut: true, now: now)
    }

    /// Opens round number `currentRound + 1` at `now`, with no exchanges yet.
    mutating func openRound(now: Instant) -> UInt64 {
        currentRound += 1
        round = RoundInFlight(number: currentRound, start: now, pending: [])
        return currentRound
    }

    /// Peers streaming an exchange with this node: a new round leaves them out, and
    /// their pages go on.
    var streamingPeers: Set<NodeID> { Set(sessions.values.filter(\.streaming).map(\.peer)) }

    /// Opens exchange `id` with `peer` in the open round; `root` is its opening digest.
    mutating func open(_ id: UInt64, with peer: NodeID, root: SyncStep) {
        guard var current = round else { return }
        sessions[id] = SyncSession(peer: peer, round: current.number, root: root)
        current.pending.insert(id)
        round = current
    }

    /// Ends the open round at once when it waits for nothing (no peer to exchange with).
    mutating func closeIfIdle(now: Instant) -> FinishedRound? {
        guard let current = round, current.pending.isEmpty else { return nil }
        return finish(current, timedOut: false, now: now)
    }

    /// The round timeout of round `number` fired.
    mutating func roundTimedOut(_ number: UInt64, now: Instant) -> FinishedRound? {
        guard let current = round, current.number == number else { return nil }
        return finish(current, timedOut: true, now: now)
    }

    private mutating func finish(_ finished: RoundInFlight, timedOut: Bool, now: Instant) -> FinishedRound {
        round = nil
        for session in finished.pending { sessions[session] = nil }
        lastRoundDuration = now - finished.start
        return FinishedRound(
            number: finished.number, duration: lastRoundDuration, unanswered: finished.pending.count,
            timedOut: timedOut)
    }

    /// Exchange `id` ended; so does its round if it waited for nothing else.
    mutating func sessionDone(_ id: UInt64, now: Instant) -> FinishedRound? {
        guard let done = sessions.removeValue(forKey: id) else { return nil }
        return leave(id, round: done.round, now: now)
    }

    /// The round stops waiting for `id` (which now streams); it ends if that was the last.
    mutating func leaveRound(_ id: UInt64, now: Instant) -> FinishedRound? {
        guard let number = round?.number else { return nil }
        return leave(id, round: number, now: now)
    }

    private mutating func leave(_ id: UInt64, round number: UInt64, now: Instant) -> FinishedRound? {
        guard var current = round, current.number == number, current.pending.remove(id) != nil else {
            return nil
        }
        if current.pending.isEmpty { return finish(current, timedOut: false, now: now) }
        round = current
        return nil
    }

    /// Forgets every round and exchange (the node stops).
    mutating func stop() {
        sessions.removeAll()
        round = nil
        nextRoundTime = nil
    }

    // MARK: Exchanges

    /// Exchange `id`, if this node opened it and it has not ended.
    func session(_ id: UInt64) -> SyncSession? { sessions[id] }

    /// The peer and opening digest of `id`, if no answer to it came yet.
    func unansweredRoot(_ id: UInt64) -> (peer: NodeID, root: SyncStep)? {
        guard let session = sessions[id], !session.answered, let root = session.root else { return nil }
        return (session.peer, root)
    }

    /// The opening digest of `id` went again, over a stream.
    mutating func resent(_ id: UInt64) {
        resentSessions.append(id)
        if resentSessions.count > 64 { resentSessions.removeFirst() }
    }

    /// Whether `id`'s digest went twice: a late answer to it is the second copy's.
    func wasResent(_ id: UInt64) -> Bool { resentSessions.contains(id) }

    /// The peer answered `id`'s opening digest with a bucket digest.
    mutating func answered(_ id: UInt64) {
        sessions[id]?.answered = true
    }

    /// The buckets of `id` that differ, at `bits`, to ask for page by page; `weights`
    /// are this store's bytes in each bucket.
    mutating func plan(_ id: UInt64, bits: Int, differing: [Int], weights: [Int]) {
        sessions[id]?.bits = bits
        sessions[id]?.remaining = differing.reversed()
        sessions[id]?.weights = weights
    }

    /// More buckets of `id` the peer could not fit into its page; returns what remains
    /// to ask for, or nil for an unknown session.
    mutating func deferBuckets(_ id: UInt64, _ deferred: [Int]) -> [Int]? {
        sessions[id]?.remaining += deferred.reversed()
        return sessions[id]?.remaining
    }

    /// One page of an exchange to ask for.
    struct Page: Equatable {
        var peer: NodeID
        var bits: Int
        var buckets: [Int]
        /// Pages asked for so far, this one included.
        var number: Int
        /// Whether the exchange streams (more than one page): timed page by page.
        var streams: Bool
        /// Whether this page made it stream, so that it leaves its round now.
        var startedStreaming: Bool
        /// Buckets this page and the later ones cover.
        var bucketsLeft: Int
    }

    /// The next page of `id`: the summaries of as many of the remaining buckets as this
    /// store's share of them fits a page of `syncPageBytes` (one bucket at least, 4096
    /// at most). An exchange that needs a second page leaves its round, which would end
    /// it at the round's timeout, and is timed page by page instead.
    mutating func nextPage(_ id: UInt64) -> Page? {
        guard var session = sessions[id] else { return nil }
        var page: [Int] = []
        var used = 0
        while let next = session.remaining.last, page.count < 4096 {
            let weight = next < session.weights.count ? session.weights[next] : 0
            if !page.isEmpty, used + weight > settings.syncPageBytes { break }
            used += weight
            page.append(session.remaining.removeLast())
        }
        session.pages += 1
        let streams = session.pages > 1 || !session.remaining.isEmpty
        let started = streams && !session.streaming
        if started { session.streaming = true }
        sessions[id] = session
        return Page(
            peer: session.peer, bits: session.bits, buckets: page, number: session.pages, streams: streams,
            startedStreaming: started, bucketsLeft: page.count + session.remaining.count)
    }

    /// How an exchange that `endExchange` ended had run.
    enum StreamEnd {
        /// It never streamed: it left its round's pending exchanges, and the engine
        /// counts a failure as a network error.
        case inRound
        /// It streamed `pages` pages with `peer`.
        case streamed(peer: NodeID, pages: Int)
    }

    /// Ends exchange `id`, whether it streamed or not. One that never streamed leaves its
    /// round, which still ends only at its timeout, even with nothing left pending (then
    /// its `round_timeout` warning counts no exchange unanswered; the failed one was
    /// counted here).
    mutating func endExchange(_ id: UInt64) -> StreamEnd? {
        guard let session = sessions.removeValue(forKey: id) else { return nil }
        guard session.streaming else {
            round?.pending.remove(id)
            return .inRound
        }
        return .streamed(peer: session.peer, pages: session.pages)
    }
}

/// An anti-entropy exchange this node opened with a peer.
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

/// A gossip round awaiting its exchanges.
struct RoundInFlight: Sendable {
    var number: UInt64
    var start: Instant
    var pending: Set<UInt64>
}
