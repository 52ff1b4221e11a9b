/// Dissemination, as the engine sends what `Dissemination` holds: immediate pushes,
/// periodic gossip of queued broadcasts, and piggybacking on every probe datagram, all
/// within the datagram budget.
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
        guard !dissemination.queue.isEmpty else { return }
        let deadline = now - config.dissemination.gossipToTheDead
        // Recently failed members get gossip too, so they learn of it and refute.
        let targets = randomMembers(count: config.dissemination.gossipNodes) {
            $0.status.isLive || ($0.status == .failed && $0.statusChangedAt > deadline)
        }
        sendBroadcasts(to: targets)
    }

    /// This node's own news, at once: along the ring with eager push, else to random
    /// members.
    mutating func spreadOwnNews() {
        if config.dissemination.eagerPush { pushOnRing(heardFrom: nil) } else { gossipBroadcasts() }
    }

    /// News about membership that this node starts (a suspicion, a failure, its own
    /// join), along the ring at once with eager push; else it waits for the ticks, as
    /// SWIM's piggybacked rumors do.
    mutating func pushMembershipNews() {
        if config.dissemination.eagerPush { pushOnRing(heardFrom: nil) }
    }

    /// Fills a datagram per target with queued broadcasts (and a stream frame with those
    /// too large for any datagram), until the queue is empty.
    private mutating func sendBroadcasts(to targets: [Member]) {
        let limit = retransmitLimit
        let budget = config.dissemination.datagramBudget
        for target in targets {
            let batch = dissemination.queue.take(budget: budget - WireSize.varint(64), limit: limit)
            send(batch, to: target.address, via: .datagram)
            let oversized = dissemination.queue.takeOversized(budget: budget, limit: limit)
            send(oversized, to: target.address, via: .stream)
            if dissemination.queue.isEmpty { break }
        }
    }

    /// Sends `primary` to `address` in one datagram, filling the rest of the budget with
    /// queued broadcasts.
    mutating func sendDatagram(_ primary: GossipMessage, to address: PeerAddress) {
        var messages = [primary]
        // Room for the message count varint of the frame, whatever it ends up being.
        let room = config.dissemination.datagramBudget - primary.wireSize - WireSize.varint(64)
        if !dissemination.queue.isEmpty {
            messages += dissemination.queue.take(budget: room, limit: retransmitLimit)
        }
        send(messages, to: address, via: .datagram)
    }

    /// Queues a received broadcast to pass on, one hop fewer, if it has hops left.
    mutating func relay(
        _ received: GossipMessage, key: BroadcastQueue.Key, kind: BroadcastQueue.Kind, from: PeerAddress? = nil
    ) {
        guard received.ttl > 1 else { return }
        var forward = received
        forward.ttl = min(config.dissemination.broadcastTTL, received.ttl - 1)
        let admission = dissemination.queue.enqueue(forward, key: key, kind: kind)
        admitted(admission, received.type)
        guard kind == .metadata, admission != .refused else { return }
        var origin: NodeID?
        if case .contextUpdate(let version) = received.payload { origin = version.updatedBy }
        dissemination.noteNews(key, from: from, origin: origin)
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
        guard !dissemination.queue.isEmpty else { return }
        sendBroadcasts(
            to: dissemination.ringTargets(in: membership.members, me: config.nodeID, from: sender, origin: origin))
    }

    var retransmitLimit: Int { dissemination.retransmitLimit(liveMembers: members.liveCount) }

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
