/// The Go original's gossip rounds, made real: each round runs digest-based anti-entropy with
/// up to `maxGossipPeers` random members, exchanges member lists with one of them,
/// and tries to reconnect to one failed member so that healed partitions merge.
extension Engine {
    /// The round timer fired: the next one is armed, then this one runs.
    mutating func startRound() {
        if let unfinished = round { finishRound(unfinished, timedOut: true) }
        arm(.gossipRound, at: now + config.gossipInterval)
        nextRoundTime = now + config.gossipInterval
        runRound()
    }

    /// Runs one round now, without touching the schedule: also called on a join's answer,
    /// which must not start a second chain of round timers.
    mutating func runRound() {
        guard lifecycle == .running else { return }
        currentRound += 1
        statisticsStorage.gossipRounds += 1
        statisticsStorage.lastGossipTime = now
        var current = RoundInFlight(number: currentRound, start: now, pending: [])
        // A peer still streaming an exchange with this node is left out: its pages go on.
        let streaming = Set(sessions.values.filter(\.streaming).map(\.peer))
        let peers = randomMembers(count: config.maxGossipPeers) { $0.status == .alive && !streaming.contains($0.id) }
        for peer in peers {
            let session = makeSequence()
            let root = SyncStep.root(digest: store.digest, entryCount: store.count)
            sessions[session] = SyncSession(peer: peer.id, round: current.number, root: root)
            current.pending.insert(session)
            // The opening digests go as datagrams: in a settled cluster they are all an
            // exchange is (the stores agree), and a stream would cost a connection's
            // handshake and teardown for two messages of some 40 bytes, most of an idle
            // node's traffic. One unanswered is sent again over a stream halfway through
            // the round's time (late enough that a bucket digest still on its way by
            // stream is not asked for twice), and what follows a differing digest always
            // streams.
            sendDatagram(message(.metadataSync(SyncMessage(session: session, step: root))), to: peer.address)
            arm(.syncRoot(session: session), at: now + min(config.syncTimeout, config.gossipInterval) / 2)
        }
        // A member list grows with the cluster, so large clusters exchange them less
        // often (memberlist scales its push-pull interval the same way). The exchange
        // opens with the list's digest: lists that agree cost two small messages.
        if let first = peers.first, Int.random(in: 0..<pushPullScale, using: &random) == 0 {
            // As a datagram, like the stores' digests: agreeing lists then cost two small
            // datagrams, and one lost is only an exchange missed until the next.
            sendDatagram(message(.peerDiscovery(.digest(members.digest))), to: first.address)
        }
        // serf's reconnect: a failed member may be on the far side of a healed partition.
        // Its list cannot equal ours, so a live one answers with it; a dead one costs
        // a digest rather than our whole list.
        if members.count(.failed) > 0, let lost = randomMembers(count: 1, where: { $0.status == .failed }).first {
            send([message(.peerDiscovery(.digest(members.digest)))], to: lost.address, via: .stream)
        }
        if current.pending.isEmpty {
            finishRound(current, timedOut: false)
        } else {
            round = current
            arm(
                .roundTimeout(round: current.number),
                at: now + min(config.syncTimeout, config.gossipInterval))
        }
    }

    /// One member-list exchange every this many rounds on average: 1 up to 32 members,
    /// then one more for every doubling.
    var pushPullScale: Int {
        let n = members.liveCount
        guard n > 32 else { return 1 }
        return Math.ceilLog(n, base: 2) - 5 + 1
    }

    mutating func roundTimedOut(_ number: UInt64) {
        guard let current = round, current.number == number else { return }
        finishRound(current, timedOut: true)
    }

    private mutating func finishRound(_ finished: RoundInFlight, timedOut: Bool) {
        round = nil
        for session in finished.pending {
            sessions[session] = nil
            networkError()
        }
        let duration = now - finished.start
        lastRoundDuration = duration
        statisticsStorage.completedRounds += 1
        statisticsStorage.totalRoundTime += duration
        metric(.gossipRound(duration: duration))
        if timedOut {
            log(
                .warning, "round_timeout", "gossip round ended with exchanges unanswered",
                [
                    LogField("round", "\(finished.number)"),
                    LogField("unanswered", "\(finished.pending.count)"),
                ])
        }
    }

    private mutating func sessionDone(_ session: UInt64) {
        guard let done = sessions.removeValue(forKey: session), var current = round,
            current.number == done.round
        else { return }
        current.pending.remove(session)
        if current.pending.isEmpty {
            finishRound(current, timedOut: false)
        } else {
            round = current
        }
    }

    /// The opening digest of `id` had no answer as a datagram: it goes again over a
    /// stream, which the round's timeout then judges.
    mutating func syncRootTimedOut(_ id: UInt64) {
        guard let session = sessions[id], !session.answered, let root = session.root,
            let peer = members[session.peer]
        else { return }
        resentSessions.append(id)
        if resentSessions.count > 64 { resentSessions.removeFirst() }
        send([message(.metadataSync(SyncMessage(session: id, step: root)))], to: peer.address, via: .stream)
    }

    mutating func handleSync(_ sync: SyncMessage, sender: NodeID, from: PeerAddress, transport: Transport) {
        let reply = replyAddress(sender, from)
        func answer(_ step: SyncStep) -> GossipMessage {
            message(.metadataSync(SyncMessage(session: sync.session, step: step)))
        }
        switch sync.step {
        // Responder side: stateless, every answer follows from the message alone.
        case .root(let digest, let count):
            if digest == store.digest {
                // On the transport the digest came by: a datagram answered as a datagram
                // (with broadcasts in the room left), a stream (the retry) by a stream.
                if transport == .datagram {
                    sendDatagram(answer(.inSync), to: reply)
                } else {
                    send([answer(.inSync)], to: reply, via: .stream)
                }
            } else {
                let bits = MetadataStore.bucketBits(forEntryCount: max(count, store.count))
                send([answer(.buckets(store.bucketDigest(bits: bits)))], to: reply, via: .stream)
            }
        case .summaries(let bits, let buckets, let summaries):
            guard (0...16).contains(bits), buckets.allSatisfy({ $0 >= 0 && $0 < 1 << bits }) else {
                protocolViolation(.metadataSync, "bucket out of range")
                return
            }
            let (versions, request, deferred) = store.reconcile(
                remote: summaries, buckets: buckets, bits: bits, budget: config.syncPageBytes)
            send([answer(.push(versions: versions, request: request, deferred: deferred))], to: reply, via: .stream)
        case .entries(let versions):
            for version in versions { _ = applyRemote(version, type: .metadataSync) }
        // Initiator side: only for sessions this node opened.
        case .inSync:
            // The digest went twice and both copies were answered: the first answer counts.
            guard sessions[sync.session]?.answered == false else { return }
            sessionDone(sync.session)
        case .buckets(let digest):
            guard let session = sessions[sync.session] else {
                return resentSessions.contains(sync.session) ? () : unknownSession()
            }
            guard !session.answered else { return }
            sessions[sync.session]?.answered = true
            guard (0...16).contains(digest.bits), digest.hashes.count == 1 << digest.bits else {
                protocolViolation(.metadataSync, "malformed bucket digest")
                return
            }
            let differing = store.differingBuckets(from: digest)
            if differing.isEmpty {
                sessionDone(sync.session)
            } else {
                sessions[sync.session]?.bits = digest.bits
                sessions[sync.session]?.remaining = differing.reversed()
                sessions[sync.session]?.weights = store.bucketWeights(bits: digest.bits)
                askForPage(sync.session, to: reply)
            }
        case .push(let versions, let request, let deferred):
            guard var session = sessions[sync.session] else {
                return resentSessions.contains(sync.session) ? () : unknownSession()
            }
            for version in versions { _ = applyRemote(version, type: .metadataSync) }
            if !request.isEmpty {
                send([answer(.entries(store.versions(for: request)))], to: reply, via: .stream)
            }
            guard (deferred.allSatisfy { $0 >= 0 && $0 < 1 << session.bits }) else {
                protocolViolation(.metadataSync, "deferred bucket out of range")
                return finishStreaming(sync.session, failed: true)
            }
            session.remaining += deferred.reversed()
            sessions[sync.session] = session
            if session.remaining.isEmpty {
                if session.streaming {
                    finishStreaming(sync.session, failed: false)
                } else {
                    sessionDone(sync.session)
                }
            } else {
                askForPage(sync.session, to: reply)
            }
        }
    }

    /// Asks for the next page of an exchange: the summaries of as many of the remaining
    /// buckets as this store's share of them fits a page (one bucket at least, 4096 at
    /// most). An exchange that needs a second page leaves its round, which would end it
    /// at the round's timeout, and is timed page by page instead.
    private mutating func askForPage(_ id: UInt64, to peer: PeerAddress) {
        guard var session = sessions[id] else { return }
        var page: [Int] = []
        var used = 0
        while let next = session.remaining.last, page.count < 4096 {
            let weight = next < session.weights.count ? session.weights[next] : 0
            if !page.isEmpty, used + weight > config.syncPageBytes { break }
            used += weight
            page.append(session.remaining.removeLast())
        }
        session.pages += 1
        let streams = session.pages > 1 || !session.remaining.isEmpty
        if streams, !session.streaming {
            session.streaming = true
            sessions[id] = session
            leaveRound(id)
            log(
                .info, "sync_streaming", "anti-entropy streams a large difference in pages",
                [
                    LogField("peer", session.peer.rawValue),
                    LogField("buckets", "\(page.count + session.remaining.count)"),
                ])
        } else {
            sessions[id] = session
        }
        if streams { arm(.pageTimeout(session: id, page: session.pages), at: now + config.syncTimeout) }
        let summaries = store.summaries(inBuckets: page, bits: session.bits)
        send(
            [
                message(
                    .metadataSync(
                        SyncMessage(
                            session: id, step: .summaries(bits: session.bits, buckets: page, summaries: summaries))))
            ],
            to: peer, via: .stream)
    }

    /// The round no longer waits for a session that streams.
    private mutating func leaveRound(_ id: UInt64) {
        guard var current = round, current.pending.remove(id) != nil else { return }
        if current.pending.isEmpty {
            finishRound(current, timedOut: false)
        } else {
            round = current
        }
    }

    mutating func pageTimedOut(_ id: UInt64, page: Int) {
        guard let session = sessions[id], session.pages == page else { return }
        finishStreaming(id, failed: true)
    }

    private mutating func finishStreaming(_ id: UInt64, failed: Bool) {
        guard let session = sessions.removeValue(forKey: id) else { return }
        if !session.streaming {
            // Still in its round: the round counts it.
            if var current = round, current.pending.remove(id) != nil { round = current }
            if failed { networkError() }
            return
        }
        if failed {
            networkError()
            log(
                .warning, "sync_page_timeout", "a streaming anti-entropy exchange stopped answering",
                [LogField("peer", session.peer.rawValue), LogField("pages", "\(session.pages)")])
        } else {
            log(
                .info, "sync_streamed", "a streaming anti-entropy exchange completed",
                [LogField("peer", session.peer.rawValue), LogField("pages", "\(session.pages)")])
        }
    }

    private mutating func unknownSession() {
        // A late answer to a session that timed out: harmless, but worth counting.
        drop(.metadataSync, .invalidPayload)
    }

    /// Where to answer `sender`: the address it advertises as a member, else where
    /// the frame came from (a stream's source port is not its listening port).
    func replyAddress(_ sender: NodeID, _ from: PeerAddress) -> PeerAddress {
        members[sender]?.address ?? from
    }
}
