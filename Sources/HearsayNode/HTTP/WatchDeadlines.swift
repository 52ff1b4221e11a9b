import NIOCore

/// When each waiting blocking query's `wait` ends, in one min-heap under one timer of
/// the node's, instead of one scheduled task per query: a task holds a promise, its
/// future and a closure, about a twentieth of what each of 10,000 idle queries cost.
///
/// A query answered before its deadline leaves its entry behind (found stale when it
/// comes up); the heap is rebuilt from the queries still waiting once stale entries
/// outnumber them, so queries answered and asked again at a high rate never make it
/// grow past twice the number waiting (and a few).
struct WatchDeadlines {
    private var heap: [(deadline: NIODeadline, id: UInt64)] = []

    /// Entries in the heap.
    var count: Int { heap.count }

    /// The earliest deadline, stale or not.
    var earliest: NIODeadline? { heap.first?.deadline }

    mutating func insert(_ deadline: NIODeadline, id: UInt64) {
        heap.append((deadline, id))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Takes out every entry due by `now`.
    mutating func due(by now: NIODeadline) -> [UInt64] {
        var ids: [UInt64] = []
        while let first = heap.first, first.deadline <= now {
            ids.append(first.id)
            removeFirst()
        }
        return ids
    }

    /// Keeps only the entries `isWaiting` names.
    mutating func compact(_ isWaiting: (UInt64) -> Bool) {
        let kept = heap.filter { isWaiting($0.id) }
        heap = []
        heap.reserveCapacity(kept.count)
        for entry in kept { insert(entry.deadline, id: entry.id) }
    }

    private mutating func removeFirst() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count, heap[right].deadline < heap[smallest].deadline { smallest = right }
            guard smallest != parent else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
