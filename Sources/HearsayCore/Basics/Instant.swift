/// A point in time, in nanoseconds since the Unix epoch.
///
/// The core never reads a clock: every event carries the current `Instant`. The node
/// runtime derives it from a monotonic clock anchored to the wall clock at start, so it
/// never goes backwards; the simulator advances it virtually.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    public var nanoseconds: Int64

    /// Creates an instant `nanoseconds` after the Unix epoch.
    public init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    /// The Unix epoch.
    public static let zero = Instant(nanoseconds: 0)

    /// Milliseconds since the Unix epoch, rounded down.
    public var milliseconds: Int64 { nanoseconds / 1_000_000 }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public static func + (lhs: Instant, rhs: Duration) -> Instant {
        Instant(nanoseconds: lhs.nanoseconds &+ rhs.nanoseconds)
    }

    public static func - (lhs: Instant, rhs: Duration) -> Instant {
        Instant(nanoseconds: lhs.nanoseconds &- rhs.nanoseconds)
    }

    public static func - (lhs: Instant, rhs: Instant) -> Duration {
        .nanoseconds(lhs.nanoseconds &- rhs.nanoseconds)
    }

    public var description: String { "\(nanoseconds)ns" }
}

extension Duration {
    /// The duration in whole nanoseconds, saturating at the bounds of `Int64`.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled &+ attoseconds / 1_000_000_000
    }

    /// The duration in seconds as a floating-point number.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Multiplies a duration by a real factor, to nanosecond precision.
    public static func * (lhs: Duration, rhs: Double) -> Duration {
        .nanoseconds(Int64((Double(lhs.nanoseconds) * rhs).rounded()))
    }
}
