import Logging
import NIOCore

/// The limits on what inbound connections may hold (issue 13): places, per port and per
/// source address, and bytes for frames and request bodies still arriving. Every
/// refusal and cut is counted by its reason and logged (rate limited).
extension Node {
    /// Takes a place for a connection accepted on `port`, or counts and logs why there is
    /// none; the caller closes a refused connection at once.
    func admitConnection(on port: ListenerPort, from address: SocketAddress?) -> Bool {
        let source = Self.sourceIP(address)
        let refusal = ports.update(port) { $0.connections.admit(source) }
        if let refusal {
            metrics.refused(on: port, refusal)
            let limits = ports[port].connections
            let limit = refusal == .limit ? limits.maxTotal : limits.maxPerAddress
            logRateLimited(
                .warning, "connection_refused",
                refusal == .limit
                    ? "\(port.rawValue) connection refused: \(limit) connections are open"
                    : "\(port.rawValue) connection refused: \(source) holds \(limit) connections",
                key: "refused_\(port.rawValue)_\(refusal.rawValue)",
                ["port": "\(port.rawValue)", "reason": "\(refusal.rawValue)", "address": "\(source)"])
            return false
        }
        publishConnections(port)
        return true
    }

    /// Gives back the place of an admitted connection.
    func connectionClosed(on port: ListenerPort, from address: SocketAddress?) {
        ports.update(port) { $0.connections.release(Self.sourceIP(address)) }
        publishConnections(port)
    }

    /// Holds `bytes` of the port's buffer budget for what a connection is sending.
    func reserveBuffer(_ bytes: Int, on port: ListenerPort) -> Bool {
        let granted = ports.update(port) { $0.buffer.reserve(bytes) }
        if granted { publishConnections(port) }
        return granted
    }

    func releaseBuffer(_ bytes: Int, on port: ListenerPort) {
        guard bytes > 0 else { return }
        ports.update(port) { $0.buffer.release(bytes) }
        publishConnections(port)
    }

    /// Counts and logs a connection the node closes before its peer was done.
    func connectionCut(on port: ListenerPort, _ reason: ConnectionCut, from address: SocketAddress?, _ detail: String) {
        metrics.cut(on: port, reason)
        let source = Self.sourceIP(address)
        logRateLimited(
            .warning, "connection_cut", "\(port.rawValue) connection from \(source) closed: \(detail)",
            key: "cut_\(port.rawValue)_\(reason.rawValue)",
            ["port": "\(port.rawValue)", "reason": "\(reason.rawValue)", "address": "\(source)"])
    }

    /// Closes `channel` after `timeout` unless the returned task is cancelled first,
    /// counting and logging the cut as `deadline` with `detail`.
    nonisolated static func deadline(
        for channel: any Channel, on port: ListenerPort, node: Node, after timeout: Duration, _ detail: String
    ) -> Scheduled<Void> {
        channel.eventLoop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) {
            cutAtDeadline(channel, on: port, node: node, detail)
        }
    }

    /// Counts `channel` as cut at its deadline, with why, and closes it.
    nonisolated static func cutAtDeadline(
        _ channel: any Channel, on port: ListenerPort, node: Node, _ detail: String
    ) {
        let from = channel.remoteAddress
        node.assumeIsolated { $0.connectionCut(on: port, .deadline, from: from, detail) }
        channel.close(promise: nil)
    }

    private func publishConnections(_ port: ListenerPort) {
        let guarded = ports[port]
        metrics.connections(on: port, open: guarded.connections.open, buffered: guarded.buffer.used)
    }

    /// The IP a connection comes from, which the per-address limit counts by.
    static func sourceIP(_ address: SocketAddress?) -> String {
        address?.ipAddress ?? "unknown"
    }
}
