/// Broadcasts waiting to be gossiped: the seed's message buffer.
///
/// Each broadcast is sent a limited number of times (about multiplier x log10(N + 1)),
/// the least-sent first, and a newer rumor about the same subject replaces an older
/// one. Membership rumors and metadata updates are two classes that take turns filling
/// each datagram, so a burst of one can never starve the other (large memberlist
/// clusters lose user broadcasts to system messages this way).
public struct BroadcastQueue: Sendable {
    /// The two classes that share the datagram budget.
    public enum Kind: Int, Sendable, CaseIterable {
        case membership, metadata
    }

    /// Identifies what a broadcast is about, so that a newer one can replace it.
    public enum Key: Hashable, Sendable {
        /// A rumor about a member; the newest replaces older ones.
        case member(NodeID)
        /// One version of an entry; a dominating version replaces it.
        case version(MetadataAddress, VectorClock)
        /// A conflict alert; the newest replaces older ones.
        case conflict(MetadataAddress)
    }

    struct Item: Sendable {
        var message: GossipMessage
        var kind: Kind
        var size: Int
        var transmits: Int
        var order: UInt64
    }

    private var items: [Key: Item] = [:]
    private var nextOrder: UInt64 = 0
    /// The most broadcasts held at once.
    public let capacity: Int

    /// Creates an empty queue holding at most `capacity` broadcasts.
    public init(capacity: Int) {
        self.capacity = capacity
    }

    /// Broadcasts waiting.
    public var count: Int { items.count }

    /// Whether nothing waits.
    public var isEmpty: Bool { items.isEmpty }

    /// Whether a broadcast with `key` waits.
    public func contains(_ key: Key) -> Bool { items[key] != nil }

    /// Queues `message`. A broadcast with the same key is replaced; for a version, so is
    /// every queued version of the same entry that it dominates. When the queue is full
    /// a new broadcast is refused (false) unless `essential`, which evicts the most-sent
    /// one instead: a node's refutation of its own suspicion must always get out.
    @discardableResult
    public mutating func enqueue(_ message: GossipMessage, key: Key, kind: Kind, essential: Bool = false) -> Bool {
        if case .version(let address, let clock) = key {
            let dominated = items.keys.filter {
                if case .version(let a, let c) = $0 { return a == address && clock.dominates(c) }
                return false
            }
            for k in dominated { items[k] = nil }
        }
        if items[key] == nil, items.count >= capacity {
            guard essential, let victim = items.max(by: { $0.value.transmits < $1.value.transmits })?.key
            else { return false }
            items[victim] = nil
        }
        nextOrder += 1
        items[key] = Item(message: message, kind: kind, size: message.wireSize, transmits: 0, order: nextOrder)
        return true
    }

    /// Takes broadcasts for one datagram of at most `budget` bytes, alternating between
    /// the classes, least-sent and then newest first. Each one taken counts as one
    /// transmission and leaves the queue after `limit` of them.
    public mutating func take(budget: Int, limit: Int) -> [GossipMessage] {
        guard !items.isEmpty, budget > 0 else { return [] }
        let lanes = Kind.allCases.map { kind in
            items.filter { $0.value.kind == kind && $0.value.size <= budget }
                .sorted { a, b in
                    a.value.transmits != b.value.transmits
                        ? a.value.transmits < b.value.transmits : a.value.order > b.value.order
                }
                .map(\.key)
        }
        var cursor = [Int](repeating: 0, count: lanes.count)
        var remaining = budget
        var taken: [GossipMessage] = []
        var lane = 0
        var exhausted = 0
        while exhausted < lanes.count {
            exhausted = 0
            for _ in 0..<lanes.count {
                defer { lane = (lane + 1) % lanes.count }
                // Skip what does not fit; a smaller one further down may.
                while cursor[lane] < lanes[lane].count, items[lanes[lane][cursor[lane]]]!.size > remaining {
                    cursor[lane] += 1
                }
                guard cursor[lane] < lanes[lane].count else {
                    exhausted += 1
                    continue
                }
                let key = lanes[lane][cursor[lane]]
                cursor[lane] += 1
                remaining -= items[key]!.size
                taken.append(transmit(key, limit: limit))
            }
        }
        return taken
    }

    /// Takes the broadcasts too large for any datagram, to send on a stream; each one
    /// taken counts as one transmission.
    public mutating func takeOversized(budget: Int, limit: Int) -> [GossipMessage] {
        let keys = items.filter { $0.value.size > budget }.sorted { $0.value.order > $1.value.order }.map(\.key)
        return keys.map { transmit($0, limit: limit) }
    }

    private mutating func transmit(_ key: Key, limit: Int) -> GossipMessage {
        var item = items[key]!
        item.transmits += 1
        if item.transmits >= limit {
            items[key] = nil
        } else {
            items[key] = item
        }
        return item.message
    }

    /// How many times a broadcast is sent in a cluster of `members`:
    /// multiplier x ceil(log10(members + 1)).
    public static func retransmitLimit(multiplier: Int, members: Int) -> Int {
        multiplier * max(1, Math.ceilLog(members + 1, base: 10))
    }
}
