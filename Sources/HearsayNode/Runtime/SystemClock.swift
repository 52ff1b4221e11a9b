import HearsayCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The node's one source of time for the engine: wall-clock time, because instants end
/// up in metadata timestamps and frame headers that other nodes compare.
public enum SystemClock {
    /// Now, in nanoseconds since the Unix epoch.
    public static func now() -> Instant {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Instant(nanoseconds: Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec))
    }
}
