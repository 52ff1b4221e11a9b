/// How two vector clocks relate.
public enum ClockOrder: Sendable, Equatable {
    /// Every counter is the same.
    case equal
    /// The left clock happened before the right one: it has seen less.
    case before
    /// The left clock happened after the right one: it has seen everything the right has.
    case after
    /// Each has seen a write the other has not.
    case concurrent
}

/// A vector clock: one write counter per node, never a timestamp.
///
/// A write on node A increments A's counter in the clock of the entry it writes, after
/// merging the clocks of every version it replaces. Comparing two clocks tells whether
/// one version has seen the other (it dominates) or whether they were written
/// concurrently (siblings). Counters are kept sorted by node so that equal clocks hash
/// and encode identically everywhere, and absent nodes count as zero.
public struct VectorClock: Hashable, Sendable, CustomStringConvertible {
    /// One node's counter.
    public struct Entry: Hashable, Sendable {
        /// The writer.
        public var node: NodeID
        /// How many writes of `node` this clock has seen.
        public var counter: UInt64

        /// Creates an entry.
        public init(node: NodeID, counter: UInt64) {
            self.node = node
            self.counter = counter
        }
    }

    /// The non-zero counters, sorted by node.
    public private(set) var entries: [Entry]

    /// The empty clock: no writes seen.
    public init() { entries = [] }

    /// A clock with the given counters; zero counters are left out.
    public init(_ counters: [NodeID: UInt64]) {
        entries = counters.filter { $0.value > 0 }.map { Entry(node: $0.key, counter: $0.value) }
            .sorted { $0.node < $1.node }
    }

    /// A clock from decoded entries, which may be in any order and may repeat a node
    /// (the highest counter wins).
    public init(entries unsorted: [Entry]) {
        // What a well-behaved peer sends: sorted, distinct, non-zero. Taken as it is.
        if Self.isCanonical(unsorted) {
            self.init()
            entries = unsorted
            return
        }
        var merged: [NodeID: UInt64] = [:]
        for e in unsorted { merged[e.node] = max(merged[e.node] ?? 0, e.counter) }
        self.init(merged)
    }

    // One pass by index: every received clock is checked here, and `allSatisfy` over a
    // `zip` of the array with its own slice cost more than the comparisons themselves.
    private static func isCanonical(_ entries: [Entry]) -> Bool {
        guard let first = entries.first, first.counter > 0 else { return entries.isEmpty }
        var index = 1
        while index < entries.count {
            guard entries[index].counter > 0, entries[index - 1].node < entries[index].node else { return false }
            index += 1
        }
        return true
    }

    /// Whether no write has been seen.
    public var isEmpty: Bool { entries.isEmpty }

    /// The counter of `node`, zero when absent.
    public subscript(node: NodeID) -> UInt64 {
        guard let i = position(of: node) else { return 0 }
        return entries[i].counter
    }

    /// Counts one more write by `node`.
    public mutating func increment(_ node: NodeID) {
        if let i = position(of: node) {
            entries[i].counter &+= 1
        } else {
            let at = entries.firstIndex { $0.node > node } ?? entries.endIndex
            entries.insert(Entry(node: node, counter: 1), at: at)
        }
    }

    /// The smallest clock that has seen everything both clocks have: the per-node maximum.
    public func merged(with other: VectorClock) -> VectorClock {
        var result: [Entry] = []
        result.reserveCapacity(max(entries.count, other.entries.count))
        var i = 0
        var j = 0
        while i < entries.count || j < other.entries.count {
            if j == other.entries.count || (i < entries.count && entries[i].node < other.entries[j].node) {
                result.append(entries[i])
                i += 1
            } else if i == entries.count || other.entries[j].node < entries[i].node {
                result.append(other.entries[j])
                j += 1
            } else {
                result.append(
                    Entry(node: entries[i].node, counter: max(entries[i].counter, other.entries[j].counter)))
                i += 1
                j += 1
            }
        }
        var clock = VectorClock()
        clock.entries = result
        return clock
    }

    /// How this clock relates to `other`.
    public func compare(_ other: VectorClock) -> ClockOrder {
        var less = false
        var greater = false
        var i = 0
        var j = 0
        while i < entries.count || j < other.entries.count {
            if j == other.entries.count || (i < entries.count && entries[i].node < other.entries[j].node) {
                greater = true
                i += 1
            } else if i == entries.count || other.entries[j].node < entries[i].node {
                less = true
                j += 1
            } else {
                if entries[i].counter > other.entries[j].counter { greater = true }
                if entries[i].counter < other.entries[j].counter { less = true }
                i += 1
                j += 1
            }
            if less && greater { return .concurrent }
        }
        switch (less, greater) {
        case (false, false): return .equal
        case (true, false): return .before
        case (false, true): return .after
        case (true, true): return .concurrent
        }
    }

    /// Whether this clock has seen every write `other` has (equal clocks included).
    public func dominates(_ other: VectorClock) -> Bool {
        let order = compare(other)
        return order == .after || order == .equal
    }

    /// The total number of writes seen: the Go original's single `version` number, which grows
    /// with every write but cannot, alone, tell concurrent writes apart.
    public var sum: UInt64 { entries.reduce(0) { $0 &+ $1.counter } }

    /// Encoded length: a count, then each node name and counter.
    package var wireSize: Int {
        entries.reduce(WireSize.varint(entries.count)) {
            $0 + WireSize.string($1.node.rawValue) + WireSize.varint($1.counter)
        }
    }

    /// Feeds the clock into a stable hash.
    package func hash(into hasher: inout StableHash) {
        hasher.combine(UInt64(entries.count))
        for e in entries {
            hasher.combine(e.node.rawValue)
            hasher.combine(e.counter)
        }
    }

    public var description: String {
        "{" + entries.map { "\($0.node.rawValue):\($0.counter)" }.joined(separator: ",") + "}"
    }

    private func position(of node: NodeID) -> Int? {
        var low = 0
        var high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].node < node {
                low = mid + 1
            } else {
                high = mid
            }
        }
        return low < entries.count && entries[low].node == node ? low : nil
    }
}
