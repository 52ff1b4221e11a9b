/// A min-heap of scheduled events ordered by time, then by insertion, so that events
/// at the same instant run in the order they were scheduled and a run replays exactly.
///
/// The heap holds small fixed-size keys; payloads (which carry whole messages) sit in a
/// slab and never move while the heap is reordered.
struct EventQueue<Payload> {
    private struct Key {
        var time: Instant
        var order: UInt64
        var slot: Int

        func precedes(_ other: Key) -> Bool {
            time != other.time ? time < other.time : order < other.order
        }
    }

    private var heap: [Key] = []
    private var payloads = Slab<Payload>()
    private var nextOrder: UInt64 = 0

    var count: Int { heap.count }
    var isEmpty: Bool { heap.isEmpty }
    var nextTime: Instant? { heap.first?.time }

    mutating func push(_ payload: Payload, at time: Instant) {
        nextOrder += 1
        let slot = payloads.insert(payload)
        heap.append(Key(time: time, order: nextOrder, slot: slot))
        var child = heap.count - 1
        let key = heap[child]
        while child > 0 {
            let parent = (child - 1) / 2
            guard key.precedes(heap[parent]) else { break }
            heap[child] = heap[parent]
            child = parent
        }
        heap[child] = key
    }

    mutating func pop() -> (time: Instant, payload: Payload)? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            // Sift the last key down from the root, moving children up into the hole.
            var parent = 0
            let n = heap.count
            while true {
                let left = 2 * parent + 1
                guard left < n else { break }
                let right = left + 1
                let child = right < n && heap[right].precedes(heap[left]) ? right : left
                guard heap[child].precedes(last) else { break }
                heap[parent] = heap[child]
                parent = child
            }
            heap[parent] = last
        }
        let payload = payloads.remove(at: top.slot)!
        return (top.time, payload)
    }
}
