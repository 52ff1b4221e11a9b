/// A point in time, in nanoseconds since an origin that depends on the clock read.
///
/// The core never reads a clock. Every event carries the current protocol time, which
/// the node runtime reads from a monotonic clock (its origin is arbitrary, and it never
/// steps), so timers, suspicion and reaping are immune to the wall clock being set. The
/// host also tells the engine what the wall clock reads (`Engine.setWallClock`); only
/// what people and other nodes read is stamped with it: a version's `lastUpdated`, a
/// message's timestamp. Wall-clock instants count from the Unix epoch. The simulator
/// advances both virtually.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Nanoseconds since the clock's origin (the Unix epoch for wall-clock instants).
    public var nanoseconds: Int64

    /// Creates an instant `nanoseconds` after the origin.
    public init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    /// The origin (for the wall clock, the Unix epoch).
    public static let zero = Instant(nanoseconds: 0)

    /// Milliseconds since the origin, rounded down.
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
