/// The timer state of one suspected member, after Lifeguard's dynamic suspicion.
///
/// A suspicion starts with a long timeout that shrinks logarithmically as other members
/// independently report the same suspicion: one node's bad link takes the full timeout
/// to condemn a peer, while a peer that many find dead is declared failed quickly.
package struct Suspicion: Sendable, Equatable {
    /// The incarnation the suspicion is about; a higher one refutes it.
    package let incarnation: UInt64
    /// When the suspicion began here.
    package let start: Instant
    /// The shortest timeout, reached after `expectedConfirmations` confirmations.
    package let minimum: Duration
    /// The timeout without any confirmation.
    package let maximum: Duration
    /// How many independent confirmations bring the timeout down to `minimum`.
    package let expectedConfirmations: Int
    /// Who reported it; the first reporter is not a confirmation.
    package private(set) var reporters: Set<NodeID>
    /// Whether this node has probed the suspect itself since the suspicion began.
    package var probedHere = false

    /// Creates a suspicion reported first by `reporter`.
    package init(
        incarnation: UInt64, start: Instant, minimum: Duration, maximum: Duration,
        expectedConfirmations: Int, reporter: NodeID
    ) {
        self.incarnation = incarnation
        self.start = start
        self.minimum = minimum
        self.maximum = max(minimum, maximum)
        self.expectedConfirmations = max(0, expectedConfirmations)
        self.reporters = [reporter]
    }

    /// Independent confirmations so far.
    package var confirmations: Int { reporters.count - 1 }

    /// Records a report from `reporter`; returns true when it is a new confirmation.
    package mutating func confirm(by reporter: NodeID) -> Bool {
        guard confirmations < expectedConfirmations else { return false }
        return reporters.insert(reporter).inserted
    }

    /// The current timeout: from `maximum` with no confirmation down to `minimum` at
    /// `expectedConfirmations`, falling with log(c + 1) / log(k + 1).
    package var timeout: Duration {
        guard expectedConfirmations > 0 else { return minimum }
        let fraction =
            Math.ln(Double(confirmations + 1)) / Math.ln(Double(expectedConfirmations + 1))
        let span = Double((maximum - minimum).nanoseconds)
        let timeout = maximum - .nanoseconds(Int64(span * min(1, fraction)))
        return max(minimum, timeout)
    }

    /// When the member is declared failed unless it refutes first.
    package var deadline: Instant { start + timeout }

    /// The minimum suspicion timeout for a cluster of `clusterSize` members:
    /// multiplier x max(1, log10 N) x probe interval.
    package static func minimumTimeout(
        multiplier: Int, clusterSize: Int, probeInterval: Duration
    ) -> Duration {
        let scale = max(1.0, Math.log10(Double(max(1, clusterSize))))
        return probeInterval * (Double(multiplier) * scale)
    }

    /// How many confirmations a suspicion can expect: multiplier - 2, but never more
    /// than the other members that could confirm it.
    package static func expectedConfirmations(multiplier: Int, clusterSize: Int) -> Int {
        max(0, min(multiplier - 2, clusterSize - 2))
    }
}
