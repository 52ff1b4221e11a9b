import Logging
import ServiceLifecycle

/// Runs a node under swift-service-lifecycle: SIGTERM or SIGINT start a graceful leave,
/// and `run` returns (so the process exits 0) once the node has left. A leave asked for
/// through the API ends the process the same way.
public struct NodeService: Service {
    let node: Node

    /// Wraps a node that has not started yet.
    public init(node: Node) {
        self.node = node
    }

    public func run() async throws {
        try await node.start()
        await withGracefulShutdownHandler {
            await node.waitUntilFinished()
        } onGracefulShutdown: {
            Task { await node.leave() }
        }
    }
}
