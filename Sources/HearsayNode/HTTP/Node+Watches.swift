import HearsayCore
import NIOCore

/// Blocking queries (`MetadataWatches`): parking a GET, waking it on a change, and the
/// index header of every metadata and member-list answer.
extension Node {
    /// Answers a metadata or member-list GET at once, or, with `index`, once what it
    /// covers changed past that index (or the wait ended). An index ahead of the node's
    /// (it restarted and counts afresh) is answered at once: the lower index in the
    /// answer tells the client to start again from it.
    func metadataQuery(_ request: HTTPRequest, _ scope: WatchScope) -> HTTPReply {
        let query: BlockingQuery?
        do {
            query = try BlockingQuery(request)
        } catch {
            return .now(.error(.badRequest, "\(error)"))
        }
        // While the node leaves, queries still wait (`finish` answers them): answered at
        // once, a client that repeats its query would spin until the node is gone.
        guard let query, phase == .running || phase == .leaving, query.index <= currentIndex(scope),
            changeIndex(scope) <= query.index
        else { return .now(metadataAnswer(scope)) }
        let answer = eventLoop.makePromise(of: HTTPResponse.self)
        // Up to a sixteenth more, as Consul does, so that clients that started together
        // do not all come back at the same instant.
        let wait = query.wait.nanoseconds
        let jitter = wait >= 16 ? Int64.random(in: 0...(wait / 16)) : 0
        let id = watches.add(scope, answer: answer, until: .now() + .nanoseconds(wait + jitter))
        armWatchTimer()
        // A promise must be completed: failed, it writes nothing to the closed connection.
        return .parked(
            answer.futureResult,
            cancel: { [self] in
                self.assumeIsolated { $0.watches.remove(id)?.answer.fail(ChannelError.ioOnClosedChannel) }
            })
    }

    /// The index at the last change of what `scope` covers.
    private func changeIndex(_ scope: WatchScope) -> UInt64 {
        switch scope {
        case .address(let address): engine.store.modifyIndex(address)
        case .prefix(let prefix): engine.store.modifyIndex(prefix: prefix)
        case .members: watches.membersIndex
        }
    }

    /// The index answers about `scope` carry: the store's, or the member list's.
    private func currentIndex(_ scope: WatchScope) -> UInt64 {
        if case .members = scope { return watches.membersIndex }
        return engine.store.index
    }

    /// What a plain GET of `scope` answers, with its index (`currentIndex`).
    func metadataAnswer(_ scope: WatchScope) -> HTTPResponse {
        var response: HTTPResponse
        switch scope {
        case .address(let address):
            if let entry = engine.store.entry(address) {
                response =
                    entry.isDeleted
                    ? .error(.notFound, "entry \(address.rawValue) was deleted") : .json(entry.json)
            } else {
                response = .error(.notFound, "no entry at \(address.rawValue)")
            }
        case .prefix(let prefix):
            let entries = engine.store.entries(prefix: prefix)
            response = .json(.object(["entries": .array(entries.map(\.json))]))
        case .members(let filter):
            response = membersAnswer(filter)
        }
        response.headers.append(("X-Hearsay-Index", "\(currentIndex(scope))"))
        return response
    }

    /// Answers the queries on the member list when it changed since the last look
    /// (after every batch of the engine's effects: the check is one comparison).
    func wakeMemberWatches() {
        // The table's digest leaves tags out (they ride in heartbeats): their count of
        // changes goes in, spread over the bits.
        let digest = engine.members.digest ^ (engine.tagChanges &* 0x9E37_79B9_7F4A_7C15)
        answerWatches(watches.membersChanged(digest: digest))
    }

    /// Answers the queries a change at `address` wakes.
    func wakeWatches(_ address: MetadataAddress) {
        answerWatches(watches.woken(by: address))
    }

    /// Answers the queries on prefixes after tombstones were purged: listings lost
    /// entries, with no `.stored` effect to say so.
    func wakePrefixWatches() {
        watches.purgedAt = engine.store.purgedAt
        answerWatches(watches.prefixIDs)
    }

    /// Answers every waiting query with what the node holds now (it is stopping).
    func answerAllWatches() {
        answerWatches(watches.allIDs)
        watches.timer?.cancel()
        watches.timer = nil
    }

    /// Sets the one timer of every waiting query for the earliest wait to end, unless it
    /// is set for that or earlier already.
    private func armWatchTimer() {
        guard let next = watches.nextDeadline else { return }
        if let at = watches.timerAt, watches.timer != nil, at <= next { return }
        watches.timer?.cancel()
        watches.timerAt = next
        watches.timer = eventLoop.scheduleTask(deadline: next) { [self] in
            self.assumeIsolated { node in
                node.watches.timer = nil
                node.answerWatches(node.watches.expired(by: .now()))
                node.armWatchTimer()
            }
        }
    }

    /// Answers queries, rendering one answer per scope: the queries one change wakes
    /// mostly watch the same thing, and 10,000 of them would otherwise render the same
    /// listing 10,000 times.
    private func answerWatches(_ ids: [UInt64]) {
        var rendered: [WatchScope: HTTPResponse] = [:]
        for id in ids {
            guard let waiting = watches.remove(id) else { continue }
            let response = rendered[waiting.scope] ?? metadataAnswer(waiting.scope)
            rendered[waiting.scope] = response
            waiting.answer.succeed(response)
        }
    }
}
