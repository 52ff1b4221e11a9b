import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP API's listener, on the node's event loop: the connection guard, then the
/// request handler with its own HTTP/1 parser (`HTTP1RequestParser`).
enum HTTPServer {
    /// Binds `address` and serves the node's API there.
    static func bind(_ address: HostPort, node: Node) async throws -> any Channel {
        let maxBody = node.settings.maxBodyBytes
        let timeout = node.settings.httpRequestTimeout
        let idle = TimeAmount.nanoseconds(node.settings.httpIdleTimeout.nanoseconds)
        return try await ServerBootstrap(group: node.eventLoop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            // A channel keeps its receive buffer between reads, at the largest size it
            // ever grew to, for as long as the connection lasts. NIO starts it at 2 KB;
            // a request of the API is a few hundred bytes, and 10,000 idle watchers held
            // 20 MB in buffers that had read one GET each. Bodies still grow it (doubling
            // at each full read, up to 64 KB), on the connections that send them.
            .childChannelOption(
                .recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536)
            )
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(HTTPConnectionGuard(node: node, timeout: timeout))
                    try sync.addHandler(HTTPRequestHandler(node: node, maxBodyBytes: maxBody, idleTimeout: idle))
                }
            }
            .bind(host: address.host, port: address.port).get()
    }
}
