/// Dissemination: immediate pushes, periodic gossip of queued broadcasts, and
/// piggybacking on every probe datagram, all within the datagram budget.
extension Engine {
    /// Sends queued broadcasts to `gossipNodes` random members: on every gossip tick, and
    /// at once for news when eager push is off.
    ///
    /// With eager push (`pushOnRing`), news does not wait for the tick: waiting made each
    /// relay hop cost half a tick on average (100 ms at the LAN profile's 200 ms), where
    /// the network takes well under a millisecond a hop. Pushed on arrival along the ring,
    /// as Plumtree's eager push goes along its tree (Leitão et al., SRDS 2007), it travels
    /// at the network's speed; the ticks' retransmissions and anti-entropy are the lazy
    /// part, the safety net. Every send comes out of the one retransmit budget
    /// (`BroadcastQueue` counts each), and only news is relayed, so duplicates stop.
    mutating func gossipBroadcasts() {
        guard !broadcasts.isEmpty else { return }
        let deadline = now - config.gossipToTheDead
        // Recently failed members get gossip too, so they learn of it and refute.
        let targets = randomMembers(count: config.gossipNodes) {
            $0.status.isLive || ($0.status == .failed && $0.statusChangedAt > deadline)
        }
        sendBroadcasts(to: targets)
    }

    /// This node's own news, at once: along the ring with eager push, else to random
    /// members.
    mutating func spreadOwnNews() {
        if config.eagerPush { pushOnRing(heardFrom: nil) } else { gossipBroadcasts() }
    }

    /// News about membership that this node starts (a suspicion, a failure, its own
    /// join), along the ring at once with eager push; else it waits for the ticks, as
    /// SWIM's piggybacked rumors do.
    mutating func pushMembershipNews() {
        if config.eagerPush { pushOnRing(heardFrom: nil) }
    }

    /// Fills a datagram per target with queued broadcasts (and a stream frame with those
    /// too large for any datagram), until the queue is empty.
    private mutating func sendBroadcasts(to targets: [Member]) {
        let limit = retransmitLimit
        for target in targets {
            let batch = broadcasts.take(budget: config.datagramBudget - WireSize.varint(64), limit: limit)
            send(batch, to: target.address, via: .datagram)
            let oversized = broadcasts.takeOversized(budget: config.datagramBudget, limit: limit)
            send(oversized, to: target.address, via: .stream)
            if broadcasts.isEmpty { break }
        }
    }

    /// Sends `primary` to `address` in one datagram, filling the rest of the budget with
    /// queued broadcasts.
    mutating func sendDatagram(_ primary: GossipMessage, to address: PeerAddress) {
        var messages = [primary]
        // Room for the message count varint of the frame, whatever it ends up being.
        let room = config.datagramBudget - primary.wireSize - WireSize.varint(64)
        if !broadcasts.isEmpty {
            messages += broadcasts.take(budget: room, limit: retransmitLimit)
        }
        send(messages, to: address, via: .datagram)
    }

    /// Queues a received broadcast to pass on, one hop fewer, if it has hops left.
    mutating func relay(
        _ received: GossipMessage, key: BroadcastQueue.Key, kind: BroadcastQueue.Kind, from: PeerAddress? = nil
    ) {
        guard received.ttl > 1 else { return }
        var forward = received
        forward.ttl = min(config.broadcastTTL, received.ttl - 1)
        let admission = broadcasts.enqueue(forward, key: key, kind: kind)
        admitted(admission, received.type)
        guard kind == .metadata, admission != .refused else { return }
        var origin: NodeID?
        if case .contextUpdate(let version) = received.payload { origin = version.updatedBy }
        noteNews(key, from: from, origin: origin)
    }

    /// Notes a received broadcast to pass on along the ring once the frame is read
    /// (`receive`): `origin` started it (the writer of an update, the reporter of a
    /// suspicion or failure, the subject of an alive rumor), `from` sent it here.
    ///
    /// A frame's news travels on together, placed on the ring by one of them: the first
    /// metadata update if there is one, else the first rumor. In a join's tail frames
    /// carry rumors from many origins, and a write placed by another origin's tree skips
    /// arcs of the ring, whose members then wait for the ticks' random sends; a rumor
    /// that skips a member is also in the catch-up exchanges' member lists.
    mutating func noteNews(_ key: BroadcastQueue.Key, from: PeerAddress?, origin: NodeID?) {
        guard config.eagerPush else { return }
        let isMetadata: Bool
        if case .member = key { isMetadata = false } else { isMetadata = true }
        if news.isEmpty || (isMetadata && !newsPlacedByMetadata) {
            newsSender = from
            newsOrigin = origin
            newsPlacedByMetadata = isMetadata
        }
        news.append(key)
    }

    /// Counts what a full message buffer cost: the broadcast it dropped to make room, or
    /// the one it refused.
    mutating func admitted(_ admission: BroadcastQueue.Admission, _ type: GossipMessageType) {
        switch admission {
        case .queued: break
        case .queuedDropping(let dropped): drop(dropped, .bufferFull)
        case .refused: drop(type, .bufferFull)
        }
    }

    /// Sends queued broadcasts at once to this node's targets on the push ring
    /// (`PushRing`): for news from `origin` that came from `sender`, or (nil) written here.
    mutating func pushOnRing(heardFrom sender: PeerAddress?, origin: NodeID? = nil) {
        guard !broadcasts.isEmpty else { return }
        pushRing.refresh(from: members, digest: members.liveSetDigest)
        sendBroadcasts(to: pushRing.targets(of: config.nodeID, from: sender, origin: origin))
    }

    var retransmitLimit: Int {
        BroadcastQueue.retransmitLimit(
            multiplier: config.retransmitMultiplier, members: members.liveCount)
    }

    /// Up to `count` distinct random members other than this node that satisfy `accept`.
    mutating func randomMembers(count: Int, where accept: (Member) -> Bool) -> [Member] {
        let n = members.count
        guard count > 0, n > 1 else { return [] }
        var chosen: [Member] = []
        var seen = Set<Int>()
        // In a large, mostly healthy table, sampling finds members in a few draws; in a
        // small or mostly dead one, fall back to scanning it.
        if n > 4 * count {
            for _ in 0..<(count * 8) where chosen.count < count {
                let i = Int.random(in: 0..<n, using: &random)
                guard seen.insert(i).inserted else { continue }
                let member = members[position: i]
                if member.id != config.nodeID && accept(member) { chosen.append(member) }
            }
            if chosen.count == count { return chosen }
        }
        var candidates = members.all.indices.filter { i in
            let member = members[position: i]
            return !seen.contains(i) && member.id != config.nodeID && accept(member)
        }
        while chosen.count < count, !candidates.isEmpty {
            let pick = Int.random(in: 0..<candidates.count, using: &random)
            chosen.append(members[position: candidates[pick]])
            candidates.swapAt(pick, candidates.count - 1)
            candidates.removeLast()
        }
        return chosen
    }
}
