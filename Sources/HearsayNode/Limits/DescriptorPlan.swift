#if canImport(Glibc)
    import Glibc
#endif

/// How the process's file descriptors are shared: the connection limits of both ports
/// fit under the descriptor limit with room kept for everything else the node opens
/// (its listeners, data files, outbound gossip connections), so that a flood of HTTP
/// clients can never leave gossip without a descriptor.
struct DescriptorPlan {
    /// Descriptors kept out of both ports' limits.
    static let reserved = 256

    /// The process's descriptor limit the plan fits.
    let limit: Int
    /// Inbound gossip TCP connections allowed.
    let gossipConnections: Int
    /// HTTP connections allowed.
    let httpConnections: Int

    /// Whether the configured limits had to be lowered to fit.
    let lowered: Bool

    /// Fits `gossip` and `http` connections under `limit` descriptors, lowering both in
    /// proportion when they do not fit (each keeps at least 8).
    init(limit: Int, gossip: Int, http: Int) {
        self.limit = limit
        let available = max(limit - Self.reserved, 16)
        if gossip + http <= available {
            gossipConnections = gossip
            httpConnections = http
            lowered = false
        } else {
            let httpShare = max(8, available * http / (gossip + http))
            httpConnections = httpShare
            gossipConnections = max(8, available - httpShare)
            lowered = true
        }
    }

    /// Raises the process's soft descriptor limit to its hard limit (as Go's runtime does
    /// at start), and returns the soft limit then in force.
    static func raiseDescriptorLimit() -> Int {
        var limits = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits) == 0 else { return 1024 }
        // An unlimited hard limit is taken as a million: the kernel's default ceiling.
        let target = min(limits.rlim_max, 1 << 20)
        if limits.rlim_cur < target {
            var raised = limits
            raised.rlim_cur = target
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limits = raised }
        }
        return Int(min(limits.rlim_cur, rlim_t(Int32.max)))
    }
}
