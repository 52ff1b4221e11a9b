/// Values kept at stable integer positions that are reused once freed, so that other
/// structures (a heap, send-order lists) refer to a value by a small index instead of
/// holding and moving a copy of it.
struct Slab<Element> {
    private var storage: [Element?] = []
    private var freePositions: [Int] = []

    /// Stores `element` and returns its position.
    mutating func insert(_ element: Element) -> Int {
        if let position = freePositions.popLast() {
            storage[position] = element
            return position
        }
        storage.append(element)
        return storage.count - 1
    }

    /// The element at `position`, nil when that position is free.
    subscript(position: Int) -> Element? { storage[position] }

    /// Puts `element` at the occupied `position`.
    mutating func replace(_ position: Int, with element: Element) {
        precondition(storage[position] != nil, "replacing a free slab position")
        storage[position] = element
    }

    /// Takes the element out of `position` and frees the position.
    @discardableResult
    mutating func remove(at position: Int) -> Element? {
        guard let element = storage[position].take() else { return nil }
        freePositions.append(position)
        return element
    }

    /// Every stored element, in position order.
    var elements: LazyMapSequence<LazyFilterSequence<LazyMapSequence<[Element?], Element?>>, Element> {
        storage.lazy.compactMap { $0 }
    }
}

extension Slab: Sendable where Element: Sendable {}
