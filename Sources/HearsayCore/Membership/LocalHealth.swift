/// Lifeguard's local health: how much a node distrusts its own view.
///
/// A node that misses acks it should have had (for example because its own CPU or
/// network is starved) raises its score and probes more slowly, with longer timeouts,
/// so that its trouble is not mistaken for everyone else's. Successful probes lower it.
package struct LocalHealth: Sendable, Equatable {
    /// The current score, 0 (healthy) to `maximum - 1`.
    package private(set) var score: Int = 0
    /// The bound on the multiplier: intervals stretch up to `maximum` times.
    package let maximum: Int

    /// Creates a healthy score with multiplier bound `maximum` (at least 1).
    package init(maximum: Int) {
        self.maximum = max(1, maximum)
    }

    /// Moves the score by `delta`, clamped to 0...maximum-1.
    package mutating func apply(_ delta: Int) {
        score = min(maximum - 1, max(0, score + delta))
    }

    /// The factor by which probe interval and timeout stretch: score + 1.
    package var multiplier: Int { score + 1 }

    /// `base` stretched by the current multiplier.
    package func scaled(_ base: Duration) -> Duration { base * Double(multiplier) }
}
