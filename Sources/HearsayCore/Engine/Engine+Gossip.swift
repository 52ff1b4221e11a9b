/// Dissemination: immediate pushes, periodic gossip of queued broadcasts, and
/// piggybacking on every probe datagram, all within the datagram budget.
extension Engine {
    /// Sends queued broadcasts to `fanout` (by default `gossipNodes`) random members other
    /// than `excluded`: on every gossip tick, at once when this node has news of its own,
    /// and (`eagerPush`) when a frame brought it news, to `eagerFanout` members but not
    /// that frame's sender.
    ///
    /// Waiting for the next tick made each relay hop cost half a tick on average (100 ms
    /// at the LAN profile's 200 ms), so a write took a few ticks to reach every node where
    /// the network takes well under a millisecond a hop. Pushed on arrival, it travels at
    /// the network's speed: each node that first hears of it tells a few others at once,
    /// as Plumtree's eager push does (Leitão et al., SRDS 2007; here to random members,
    /// with no tree to keep). The sends come out of the same retransmit budget as the
    /// ticks' (`BroadcastQueue` counts each one), so they happen earlier, not in addition;
    /// duplicates are suppressed because only news is relayed.
    mutating func gossipBroadcasts(excluding excluded: PeerAddress? = nil, fanout: Int? = nil) {
        guard !broadcasts.isEmpty else { return }
        let limit = retransmitLimit
        let deadline = now - config.gossipToTheDead
        // Recently failed members get gossip too, so they learn of it and refute.
        let targets = randomMembers(count: fanout ?? config.gossipNodes) {
            ($0.status.isLive || ($0.status == .failed && $0.statusChangedAt > deadline)) && $0.address != excluded
        }
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
    mutating func relay(_ received: GossipMessage, key: BroadcastQueue.Key, kind: BroadcastQueue.Kind) {
        guard received.ttl > 1 else { return }
        var forward = received
        forward.ttl = min(config.broadcastTTL, received.ttl - 1)
        let admission = broadcasts.enqueue(forward, key: key, kind: kind)
        admitted(admission, received.type)
        if kind == .metadata, config.eagerPush, admission != .refused { news.append(key) }
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

    /// How many members a node tells of news at once when eager push is on: ln(N) + 2,
    /// within the retransmit budget. Told once by every node that hears it, a rumor
    /// reaches all but about N e^-f of N nodes for fanout f (an "infect and die"
    /// epidemic), so f = ln N + 2 leaves a node out of about one update in seven,
    /// which the ticks then reach; `gossipNodes` (3) would leave out 5 % of the nodes
    /// of every update, and each of them a tick behind (the tail).
    var eagerFanout: Int {
        let live = members.liveCount
        let wanted = Int(Math.ln(Double(max(live, 1))).rounded(.up)) + 2
        return min(retransmitLimit, max(config.gossipNodes, wanted))
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
