/// The Go original's gossip rounds, made real: each round runs digest-based anti-entropy with
/// up to `maxGossipPeers` random members, exchanges member lists with one of them,
/// and tries to reconnect to one failed member so that healed partitions merge.
extension Engine {
    /// The round timer fired: the round still open ends, the next one is armed, then
    /// this one runs.
    mutating func startRound() {
        if let unfinished = antiEntropy.roundDue(now: now) { roundFinished(unfinished) }
        arm(.gossipRound, at: now + config.antiEntropy.gossipInterval)
        runRound()
    }

    /// Runs one round now, without touching the schedule: also called on a join's answer,
    /// which must not start a second chain of round timers.
    mutating func runRound() {
        guard lifecycle == .running else { return }
        let number = antiEntropy.openRound(now: now)
        statisticsStorage.gossipRounds += 1
        statisticsStorage.lastGossipTime = now
        // A peer still streaming an exchange with this node is left out: its pages go on.
        let streaming = antiEntropy.streamingPeers
        let peers = randomMembers(count: config.antiEntropy.maxGossipPeers) {
            $0.status == .alive && !streaming.contains($0.id)
        }
        for peer in peers {
            let session = makeSequence()
            let root = SyncStep.root(digest: store.digest, entryCount: store.count)
            antiEntropy.open(session, with: peer.id, root: root)
            // The opening digests go as datagrams: in a settled cluster they are all an
            // exchange is (the stores agree), and a stream would cost a connection's
            // handshake and teardown for two messages of some 40 bytes, most of an idle
            // node's traffic. One unanswered is sent again over a stream halfway through
            // the round's time (late enough that a bucket digest still on its way by
            // stream is not asked for twice), and what follows a differing digest always
            // streams.
            sendDatagram(message(.metadataSync(SyncMessage(session: session, step: root))), to: peer.address)
            arm(.syncRoot(session: session), at: now + antiEntropy.roundTimeout / 2)
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
        if let finished = antiEntropy.closeIfIdle(now: now) {
            roundFinished(finished)
        } else {
            arm(.roundTimeout(round: number), at: now + antiEntropy.roundTimeout)
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
        if let finished = antiEntropy.roundTimedOut(number, now: now) { roundFinished(finished) }
    }

    /// Counts a round that ended, each exchange it still waited for as a network error.
    private mutating func roundFinished(_ finished: AntiEntropy.FinishedRound) {
        for _ in 0..<finished.unanswered { networkError() }
        statisticsStorage.completedRounds += 1
        statisticsStorage.totalRoundTime += finished.duration
        metric(.gossipRound(duration: finished.duration))
        if finished.timedOut {
            log(
                .warning, "round_timeout", "gossip round ended with exchanges unanswered",
                [
                    LogField("round", "\(finished.number)"),
                    LogField("unanswered", "\(finished.unanswered)"),
                ])
        }
    }

    private mutating func sessionDone(_ session: UInt64) {
        if let finished = antiEntropy.sessionDone(session, now: now) { roundFinished(finished) }
    }

    /// The opening digest of `id` had no answer as a datagram: it goes again over a
    /// stream, which the round's timeout then judges.
    mutating func syncRootTimedOut(_ id: UInt64) {
        guard let (peer, root) = antiEntropy.unansweredRoot(id), let address = members[peer]?.address else {
            return
        }
        antiEntropy.resent(id)
        send([message(.metadataSync(SyncMessage(session: id, step: root)))], to: address, via: .stream)
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
                remote: summaries, buckets: buckets, bits: bits, budget: config.antiEntropy.syncPageBytes)
            send([answer(.push(versions: versions, request: request, deferred: deferred))], to: reply, via: .stream)
        case .entries(let versions):
            for version in versions { _ = applyRemote(version, type: .metadataSync) }
        // Initiator side: only for sessions this node opened.
        case .inSync:
            // The digest went twice and both copies were answered: the first answer counts.
            guard antiEntropy.session(sync.session)?.answered == false else { return }
            sessionDone(sync.session)
        case .buckets(let digest):
            guard let session = antiEntropy.session(sync.session) else {
                return antiEntropy.wasResent(sync.session) ? () : unknownSession()
            }
            guard !session.answered else { return }
            antiEntropy.answered(sync.session)
            guard (0...16).contains(digest.bits), digest.hashes.count == 1 << digest.bits else {
                protocolViolation(.metadataSync, "malformed bucket digest")
                return
            }
            let differing = store.differingBuckets(from: digest)
            if differing.isEmpty {
                sessionDone(sync.session)
            } else {
                antiEntropy.plan(
                    sync.session, bits: digest.bits, differing: differing,
                    weights: store.bucketWeights(bits: digest.bits))
                askForPage(sync.session, to: reply)
            }
        case .push(let versions, let request, let deferred):
            guard let session = antiEntropy.session(sync.session) else {
                return antiEntropy.wasResent(sync.session) ? () : unknownSession()
            }
            for version in versions { _ = applyRemote(version, type: .metadataSync) }
            if !request.isEmpty {
                send([answer(.entries(store.versions(for: request)))], to: reply, via: .stream)
            }
            guard (deferred.allSatisfy { $0 >= 0 && $0 < 1 << session.bits }) else {
                protocolViolation(.metadataSync, "deferred bucket out of range")
                return finishStreaming(sync.session, failed: true)
            }
            let remaining = antiEntropy.deferBuckets(sync.session, deferred) ?? []
            if remaining.isEmpty {
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

    /// Asks for the next page of an exchange (`AntiEntropy.nextPage`). One that starts
    /// to stream leaves its round and is timed page by page.
    private mutating func askForPage(_ id: UInt64, to peer: PeerAddress) {
        guard let page = antiEntropy.nextPage(id) else { return }
        if page.startedStreaming {
            if let finished = antiEntropy.leaveRound(id, now: now) { roundFinished(finished) }
            log(
                .info, "sync_streaming", "anti-entropy streams a large difference in pages",
                [LogField("peer", page.peer.rawValue), LogField("buckets", "\(page.bucketsLeft)")])
        }
        if page.streams {
            arm(.pageTimeout(session: id, page: page.number), at: now + config.antiEntropy.syncTimeout)
        }
        let summaries = store.summaries(inBuckets: page.buckets, bits: page.bits)
        send(
            [
                message(
                    .metadataSync(
                        SyncMessage(
                            session: id, step: .summaries(bits: page.bits, buckets: page.buckets, summaries: summaries)
                        )))
            ],
            to: peer, via: .stream)
    }

    mutating func pageTimedOut(_ id: UInt64, page: Int) {
        guard antiEntropy.session(id)?.pages == page else { return }
        finishStreaming(id, failed: true)
    }

    private mutating func finishStreaming(_ id: UInt64, failed: Bool) {
        switch antiEntropy.endExchange(id) {
        case nil:
            return
        case .inRound:
            // Still in its round: the round counts it.
            if failed { networkError() }
        case .streamed(let peer, let pages):
            if failed {
                networkError()
                log(
                    .warning, "sync_page_timeout", "a streaming anti-entropy exchange stopped answering",
                    [LogField("peer", peer.rawValue), LogField("pages", "\(pages)")])
            } else {
                log(
                    .info, "sync_streamed", "a streaming anti-entropy exchange completed",
                    [LogField("peer", peer.rawValue), LogField("pages", "\(pages)")])
            }
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
