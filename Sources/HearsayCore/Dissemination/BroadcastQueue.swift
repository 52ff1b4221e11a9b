/// Broadcasts waiting to be gossiped: the Go original's message buffer.
///
/// Each broadcast is sent a limited number of times (about multiplier x log10(N + 1)),
/// the least-sent first, and a newer rumor about the same subject replaces an older
/// one. Membership rumors and metadata updates are two classes that take turns filling
/// each datagram, so a burst of one can never starve the other (large memberlist
/// clusters lose user broadcasts to system messages this way).
package struct BroadcastQueue: Sendable {
    /// The two classes that share the datagram budget.
    package enum Kind: Int, Sendable, CaseIterable {
        case membership, metadata
    }

    /// Identifies what a broadcast is about, so that a newer one can replace it.
    package enum Key: Hashable, Sendable {
        /// A rumor about a member; the newest replaces older ones.
        case member(NodeID)
        /// One version of an entry; a dominating version replaces it.
        case version(MetadataAddress, VectorClock)
        /// A conflict alert; the newest replaces older ones.
        case conflict(MetadataAddress)

        /// A version's key hashes its clock's counters and not the nodes' names: equal
        /// clocks have equal counters, and every write's broadcast looks its key up a few
        /// times, each of which hashed every name in the clock.
        package func hash(into hasher: inout Hasher) {
            switch self {
            case .member(let node):
                hasher.combine(0)
                hasher.combine(node)
            case .version(let address, let clock):
                hasher.combine(1)
                hasher.combine(address)
                for entry in clock.entries { hasher.combine(entry.counter) }
            case .conflict(let address):
                hasher.combine(2)
                hasher.combine(address)
            }
        }
    }

    struct Item: Sendable {
        var message: GossipMessage
        var key: Key
        var kind: Kind
        var size: Int
        var transmits: Int
        var order: UInt64
    }

    /// A place in a send-order list; stale once its slot holds another broadcast
    /// (a different `order`) or the broadcast was sent again (it moved a level up).
    private struct Ref: Sendable {
        var slot: Int
        var order: UInt64
    }

    // Broadcasts live in slots so that the lists below hold small refs, not messages:
    // taking a datagram's worth walks those lists without copying a single message.
    private var slots = Slab<Item>()
    private var index: [Key: Int] = [:]
    /// Queued version clocks by entry, so a dominating version finds what it replaces.
    private var versionClocks: [MetadataAddress: [VectorClock]] = [:]
    /// Per kind, per transmit count, refs in ascending order (newest last).
    private var levels: [[[Ref]]] = Kind.allCases.map { _ in [[]] }
    /// Per kind and level, how many refs at the front of the list are known to be
    /// stale. A full queue looks for its victim from the front of the lists on every
    /// admission; without this it walked the same stale refs each time, up to twice the
    /// capacity of them (half of an event loop's commit of 8,000 writes a second).
    private var staleHeads: [[Int]] = Kind.allCases.map { _ in [0] }
    private var staleRefs = 0
    /// Slots whose broadcast may not fit any datagram (larger than the smallest budget).
    private var largeSlots: Set<Int> = []
    private var nextOrder: UInt64 = 0
    /// The most broadcasts held at once.
    package let capacity: Int
    /// A broadcast never dropped to make room: the node's own rumor (its refutation, its
    /// leave), which only it can send.
    package let protectedKey: Key?

    /// Creates an empty queue holding at most `capacity` broadcasts.
    package init(capacity: Int, protecting protectedKey: Key? = nil) {
        self.capacity = capacity
        self.protectedKey = protectedKey
    }

    /// Broadcasts waiting.
    package var count: Int { index.count }

    /// Whether nothing waits.
    package var isEmpty: Bool { index.isEmpty }

    /// Whether a broadcast with `key` waits.
    package func contains(_ key: Key) -> Bool { index[key] != nil }

    /// How many times the broadcast with `key` has been sent; nil when it is not queued.
    func transmits(of key: Key) -> Int? { index[key].flatMap { slots[$0]?.transmits } }

    /// What `enqueue` did.
    package enum Admission: Equatable, Sendable {
        /// Queued, with room to spare or in place of a broadcast with the same key.
        case queued
        /// Queued in place of another broadcast, dropped to make room.
        case queuedDropping(GossipMessageType)
        /// Not queued: the queue is full of broadcasts it may not displace.
        case refused

        /// Whether the new broadcast is in the queue.
        package var isQueued: Bool { self != .refused }
    }

    /// Queues `message`. A broadcast with the same key is replaced; for a version, so is
    /// every queued version of the same entry that it dominates. When the queue is full,
    /// a broadcast goes to make room, the one sent most often (the oldest among equals,
    /// as memberlist's queue prunes its oldest), so that fresh news always gets in.
    /// Metadata updates go first, since anti-entropy still carries a write whose
    /// broadcast is dropped: a membership rumor takes a metadata update's place while
    /// there is one, else another rumor's, so a suspicion, failure or refutation is never
    /// refused; a metadata update takes only another update's place, and is refused when
    /// membership rumors fill the queue.
    @discardableResult
    package mutating func enqueue(_ message: GossipMessage, key: Key, kind: Kind) -> Admission {
        if case .version(let address, let clock) = key, let queued = versionClocks[address] {
            for old in queued where old != clock && clock.dominates(old) {
                remove(.version(address, old))
            }
        }
        var admission = Admission.queued
        if index.count >= capacity, index[key] == nil {
            guard
                let victim = mostSentOldest(.metadata) ?? (kind == .membership ? mostSentOldest(.membership) : nil),
                let slot = index[victim], let type = slots[slot]?.message.type
            else { return .refused }
            remove(victim)
            admission = .queuedDropping(type)
        }
        remove(key)
        nextOrder += 1
        let item = Item(
            message: message, key: key, kind: kind, size: message.wireSize, transmits: 0, order: nextOrder
        )
        let slot = slots.insert(item)
        index[key] = slot
        if case .version(let address, let clock) = key {
            versionClocks[address, default: []].append(clock)
        }
        if item.size > Self.smallestBudget { largeSlots.insert(slot) }
        levels[kind.rawValue][0].append(Ref(slot: slot, order: item.order))
        return admission
    }

    /// Takes broadcasts for one datagram of at most `budget` bytes, alternating between
    /// the classes, least-sent and then newest first. Each one taken counts as one
    /// transmission and leaves the queue after `limit` of them.
    package mutating func take(budget: Int, limit: Int) -> [GossipMessage] {
        guard !index.isEmpty, budget > 0 else { return [] }
        var cursors = Kind.allCases.map { kind in
            (level: 0, position: levels[kind.rawValue][0].count - 1)
        }
        var remaining = budget
        var picked: [Int] = []
        var exhausted = 0
        while exhausted < cursors.count {
            exhausted = 0
            for lane in cursors.indices {
                if let slot = next(lane: lane, cursor: &cursors[lane], fitting: remaining) {
                    picked.append(slot)
                    remaining -= slots[slot]!.size
                } else {
                    exhausted += 1
                }
            }
        }
        return picked.map { transmit(slot: $0, limit: limit) }
    }

    /// Takes the broadcasts too large for any datagram, to send on a stream; each one
    /// taken counts as one transmission.
    package mutating func takeOversized(budget: Int, limit: Int) -> [GossipMessage] {
        let oversized = largeSlots.filter { slots[$0]!.size > budget }.sorted {
            slots[$0]!.order > slots[$1]!.order
        }
        return oversized.map { transmit(slot: $0, limit: limit) }
    }

    /// The broadcast of `kind` sent most often, the oldest among equals: the first live
    /// ref of the highest level holding one, as each level is in ascending order. Stale
    /// refs are compacted once they outnumber the live ones, so this walks few.
    private mutating func mostSentOldest(_ kind: Kind) -> Key? {
        let lane = kind.rawValue
        for level in levels[lane].indices.reversed() {
            var position = staleHeads[lane][level]
            var stalePrefix = true
            let list = levels[lane][level]
            while position < list.count {
                let ref = list[position]
                position += 1
                guard let item = slots[ref.slot], item.order == ref.order, item.transmits == level else {
                    // A stale ref stays stale: its slot's order or count never comes back.
                    if stalePrefix { staleHeads[lane][level] = position }
                    continue
                }
                stalePrefix = false
                if item.key != protectedKey { return item.key }
            }
        }
        return nil
    }

    /// How many waiting broadcasts too large for the room left `take` passes over in a
    /// lane before it calls the datagram full. Without a bound, every datagram that
    /// filled walked the rest of the queue, a thousand broadcasts, to find none that
    /// fit: 120k instructions a datagram, 6 % of the agent's work on a durable PUT under
    /// load (docs/benchmarks.md). What is passed over stays least-sent, first in line
    /// for the next datagram.
    static let maxPassedOver = 16

    /// The least-sent, newest broadcast of `lane` at or after `cursor` that fits `room`;
    /// nil when none does, or `maxPassedOver` in a row do not.
    private func next(lane: Int, cursor: inout (level: Int, position: Int), fitting room: Int) -> Int? {
        let lists = levels[lane]
        var passedOver = 0
        while cursor.level < lists.count {
            let list = lists[cursor.level]
            while cursor.position >= 0 {
                let ref = list[cursor.position]
                cursor.position -= 1
                guard let item = slots[ref.slot], item.order == ref.order, item.transmits == cursor.level else {
                    continue
                }
                if item.size <= room { return ref.slot }
                passedOver += 1
                if passedOver >= Self.maxPassedOver {
                    cursor = (lists.count, -1)
                    return nil
                }
            }
            cursor.level += 1
            if cursor.level < lists.count { cursor.position = lists[cursor.level].count - 1 }
        }
        return nil
    }

    /// Counts the broadcast with `key` as sent until `left` of its `limit` sends remain,
    /// without sending it: after an eager push has reached the ring (`PushRing`), the
    /// gossip ticks keep only a few retransmissions as a safety net.
    mutating func spend(_ key: Key, leaving left: Int, limit: Int) {
        while let slot = index[key], let item = slots[slot], item.transmits < limit - max(left, 1) {
            _ = transmit(slot: slot, limit: limit)
        }
    }

    private mutating func transmit(slot: Int, limit: Int) -> GossipMessage {
        var item = slots[slot]!
        item.transmits += 1
        staleRefs += 1
        if item.transmits >= limit {
            remove(item.key)
            return item.message
        }
        slots.replace(slot, with: item)
        let lane = item.kind.rawValue
        while levels[lane].count <= item.transmits {
            levels[lane].append([])
            staleHeads[lane].append(0)
        }
        // Keep each level in ascending order so that newest-first stays true.
        var list = levels[lane][item.transmits]
        levels[lane][item.transmits] = []
        var low = list.count
        while low > 0, list[low - 1].order > item.order { low -= 1 }
        list.insert(Ref(slot: slot, order: item.order), at: low)
        levels[lane][item.transmits] = list
        // Inserted among the known-stale front, it must not be skipped.
        staleHeads[lane][item.transmits] = min(staleHeads[lane][item.transmits], low)
        compactIfStale()
        return item.message
    }

    private mutating func remove(_ key: Key) {
        guard let slot = index.removeValue(forKey: key) else { return }
        slots.remove(at: slot)
        if !largeSlots.isEmpty { largeSlots.remove(slot) }
        staleRefs += 1
        if case .version(let address, let clock) = key, var clocks = versionClocks.removeValue(forKey: address) {
            clocks.removeAll { $0 == clock }
            if !clocks.isEmpty { versionClocks[address] = clocks }
        }
        compactIfStale()
    }

    /// Drops refs that no longer point at a waiting broadcast once they outnumber the
    /// live ones, so the walk in `take` stays proportional to the queue.
    private mutating func compactIfStale() {
        guard staleRefs > 2 * index.count + 64 else { return }
        levels = levels.map { lists in
            lists.enumerated().map { level, list in
                list.filter { ref in
                    guard let item = slots[ref.slot] else { return false }
                    return item.order == ref.order && item.transmits == level
                }
            }
        }
        staleHeads = levels.map { lists in lists.map { _ in 0 } }
        staleRefs = 0
    }

    /// No datagram budget is smaller than this (the smallest datagram less the largest
    /// frame overhead), so a broadcast at most this large always fits one.
    private static let smallestBudget = 512 - 256 - 10

    /// How many times a broadcast is sent in a cluster of `members`:
    /// multiplier x ceil(log10(members + 1)).
    package static func retransmitLimit(multiplier: Int, members: Int) -> Int {
        multiplier * max(1, Math.ceilLog(members + 1, base: 10))
    }
}
