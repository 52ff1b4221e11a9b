/// Bytes that connections may make the node buffer at once (frames or request bodies
/// being received), shared by every connection of a port: each holds what it may still
/// receive of what it started, and gives it back when done or closed.
struct ByteBudget {
    let capacity: Int
    private(set) var used = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Holds `count` bytes, or refuses when that would pass the capacity.
    mutating func reserve(_ count: Int) -> Bool {
        guard count <= capacity - used else { return false }
        used += count
        return true
    }

    /// Gives back `count` bytes held earlier.
    mutating func release(_ count: Int) {
        used = max(0, used - count)
    }
}
