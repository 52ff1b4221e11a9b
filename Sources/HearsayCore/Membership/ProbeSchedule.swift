/// The order in which a node probes its members: shuffled round-robin.
///
/// Each pass visits every table position exactly once, in an order drawn anew per pass
/// (a random start and a random stride coprime with the table size), so every member
/// is probed within one pass and the pattern differs from node to node. It needs O(1)
/// memory, which matters when a simulation holds ten thousand tables of ten thousand.
package struct ProbeSchedule: Sendable, Equatable {
    private var size = 0
    private var start = 0
    private var stride = 1
    private var step = 0

    /// Creates an empty schedule; the first call to `next` starts a pass.
    package init() {}

    /// The next table position to probe, among `count` positions, or nil when `count` is 0.
    package mutating func next(count: Int, using random: inout SeededGenerator) -> Int? {
        guard count > 0 else { return nil }
        if step >= size || size != count {
            newPass(count: count, using: &random)
        }
        let position = (start + step * stride) % size
        step += 1
        return position
    }

    private mutating func newPass(count: Int, using random: inout SeededGenerator) {
        size = count
        step = 0
        start = Int.random(in: 0..<count, using: &random)
        stride = 1
        if count > 2 {
            repeat {
                stride = Int.random(in: 1..<count, using: &random)
            } while gcd(stride, count) != 1
        }
    }

    private func gcd(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }
}
