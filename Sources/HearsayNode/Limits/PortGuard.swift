/// What one listening port lets its connections hold: places for connections, and bytes
/// for what they are sending.
struct PortGuard {
    var connections: ConnectionLimits
    var buffer: ByteBudget
}

/// The guards of both ports, changed in place.
struct PortGuards {
    var gossip: PortGuard
    var http: PortGuard

    mutating func update<Result>(_ port: ListenerPort, _ body: (inout PortGuard) -> Result) -> Result {
        switch port {
        case .gossip: body(&gossip)
        case .http: body(&http)
        }
    }

    subscript(port: ListenerPort) -> PortGuard {
        switch port {
        case .gossip: gossip
        case .http: http
        }
    }
}
