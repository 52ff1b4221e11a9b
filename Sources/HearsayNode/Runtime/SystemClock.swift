import HearsayCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The node's two clocks.
///
/// Protocol time (timers, suspicion, probe round trips, reaping, waits) is monotonic: an
/// operator or NTP setting the wall clock an hour back must not keep a dead peer suspect
/// forever, nor a step forward cut suspicion short. The wall clock stamps only what
/// people and other nodes read: versions, message timestamps, frame times for the
/// replay window, log lines.
package enum SystemClock {
    /// Protocol time: `CLOCK_MONOTONIC`, which never steps; its origin is arbitrary.
    package static func monotonic() -> Instant { read(CLOCK_MONOTONIC) }

    /// The wall clock: `CLOCK_REALTIME`, in nanoseconds since the Unix epoch.
    package static func wall() -> Instant { read(CLOCK_REALTIME) }

    private static func read(_ clock: clockid_t) -> Instant {
        var spec = timespec()
        clock_gettime(clock, &spec)
        return Instant(nanoseconds: Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec))
    }
}
