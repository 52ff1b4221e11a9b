import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP API's listener: NIOHTTP1 on the node's event loop.
enum HTTPServer {
    /// Binds `address` and serves the node's API there.
    static func bind(_ address: HostPort, node: Node) async throws -> any Channel {
        let maxBody = node.settings.maxBodyBytes
        let timeout = node.settings.httpRequestTimeout
        return try await ServerBootstrap(group: node.eventLoop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(HTTPConnectionGuard(node: node, timeout: timeout))
                    try sync.configureHTTPServerPipeline(withErrorHandling: true)
                    try sync.addHandler(IdleStateHandler(readTimeout: .seconds(60)))
                    try sync.addHandler(HTTPRequestHandler(node: node, maxBodyBytes: maxBody))
                }
            }
            .bind(host: address.host, port: address.port).get()
    }
}

/// Collects one request at a time (head and body up to the limit), hands it to the
/// node's router, and writes the answer. A body over the limit is answered with 413
/// before it is read further, and the connection is closed. A body's bytes are held in
/// the HTTP port's buffer budget while they arrive: when all bodies in progress would
/// pass it, the request is answered 503 and its connection closed.
final class HTTPRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let node: Node
    private let maxBodyBytes: Int
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var rejected = false
    private var discarded = 0
    /// Budget bytes held for the body being received.
    private var held = 0
    /// Set while an answer is awaited from the node.
    private var awaitingAnswer = false
    /// Forgets the blocking query this connection waits on.
    private var cancelWaiting: (@Sendable () -> Void)?
    /// Set once the connection is closed.
    private var clientGone = false
    /// Set once this connection answers with an event stream, its last answer.
    private var streaming = false
    /// Set while a blocking query waits with the HTTP handlers shed (`park`).
    private var parked = false
    /// Set when the client sent more while its query waited: the answer closes then.
    private var sentWhileParked = false

    init(node: Node, maxBodyBytes: Int) {
        self.node = node
        self.maxBodyBytes = maxBodyBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // After a stream (the connection's last answer), nothing more is served.
        guard !streaming else { return }
        // Bytes, or a request the shed pipeline handler held, that came behind a waiting
        // query: rare enough (pipelining behind a blocking query) to be served by closing
        // after the answer, which a client takes as the end of the connection.
        guard !parked else {
            sentWhileParked = true
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = []
            rejected = false
            if let length = requestHead.headers.first(name: "content-length").flatMap(Int.init), length > maxBodyBytes {
                reject(context: context)
            }
        case .body(let chunk):
            guard !rejected else {
                // Read the rest of a refused body so that closing does not reset the
                // connection under the 413 answer; give up on a client that sends far more.
                discarded += chunk.readableBytes
                if discarded > 16 * maxBodyBytes { context.close(promise: nil) }
                return
            }
            if body.count + chunk.readableBytes > maxBodyBytes {
                reject(context: context)
                return
            }
            let size = chunk.readableBytes
            guard node.assumeIsolated({ $0.reserveBuffer(size, on: .http) }) else {
                refuseForBudget(context: context)
                return
            }
            held += size
            body += chunk.readableBytesView
        case .end:
            context.triggerUserOutboundEvent(HTTPRequestArrived(), promise: nil)
            if rejected {
                context.close(promise: nil)
                return
            }
            guard let head else { return }
            self.head = nil
            let request = HTTPRequest(method: head.method, uri: head.uri, headers: head.headers, body: body)
            body = []
            releaseHeld()
            let keepAlive = head.isKeepAlive
            let reply = node.assumeIsolated { $0.handle(request) }
            switch reply {
            case .now(let response):
                write(response, to: context, head: head, keepAlive: keepAlive)
            case .later(let work):
                let promise = context.eventLoop.makePromise(of: HTTPResponse.self)
                promise.completeWithTask { await work() }
                answer(with: promise.futureResult, context: context, head: head, keepAlive: keepAlive)
            case .promised(let future):
                answer(with: future, context: context, head: head, keepAlive: keepAlive)
            case .parked(let future, let cancel):
                cancelWaiting = cancel
                park(until: future, context: context, head: head, keepAlive: keepAlive)
            case .stream(let stream):
                openStream(stream, context: context, head: head)
            }
        }
    }

    /// Writes the answer once it is ready. Meanwhile the connection is not idle: a
    /// blocking query or a join waits on the node, not on the client.
    private func answer(
        with future: EventLoopFuture<HTTPResponse>, context: ChannelHandlerContext, head: HTTPRequestHead,
        keepAlive: Bool
    ) {
        awaitingAnswer = true
        context.triggerUserOutboundEvent(HTTPAnswer.pending, promise: nil)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        future.hop(to: context.eventLoop).whenComplete { result in
            let (handler, context) = bound.value
            handler.awaitingAnswer = false
            handler.cancelWaiting = nil
            // Failed only when the client went away: nothing to write.
            guard case .success(let response) = result else { return }
            // Before the write: writing the answer's end releases a pipelined request,
            // which may arrive whole (and stop its deadline) within the write itself.
            context.triggerUserOutboundEvent(HTTPAnswer.written, promise: nil)
            handler.write(response, to: context, head: head, keepAlive: keepAlive)
        }
    }

    /// A blocking query waits with the HTTP handlers shed, as an event stream does: what
    /// each of thousands of waiting connections holds is then the channel and this
    /// handler. The answer is written as bytes, and the handlers come back for the next
    /// request on a connection kept alive.
    private func park(
        until future: EventLoopFuture<HTTPResponse>, context: ChannelHandlerContext, head: HTTPRequestHead,
        keepAlive: Bool
    ) {
        awaitingAnswer = true
        context.triggerUserOutboundEvent(HTTPAnswer.pending, promise: nil)
        parked = true
        shedHTTPHandlers(context)
        let (version, isHead) = (head.version, head.method == .HEAD)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        future.hop(to: context.eventLoop).whenComplete { result in
            let (handler, context) = bound.value
            handler.awaitingAnswer = false
            handler.cancelWaiting = nil
            guard case .success(let response) = result, context.channel.isActive else { return }
            let keep = keepAlive && !handler.sentWhileParked
            context.triggerUserOutboundEvent(HTTPAnswer.written, promise: nil)
            let bytes = Self.encode(response, version: version, keepAlive: keep, withBody: !isHead)
            let done = context.writeAndFlush(NIOAny(context.channel.allocator.buffer(bytes: bytes)))
            guard keep else {
                let channel = context.channel
                done.whenComplete { _ in channel.close(promise: nil) }
                return
            }
            do {
                let pipeline = context.pipeline.syncOperations
                try pipeline.configureHTTPServerPipeline(position: .before(handler), withErrorHandling: true)
                try pipeline.addHandler(IdleStateHandler(readTimeout: .seconds(60)), position: .before(handler))
                handler.parked = false
            } catch {
                context.close(promise: nil)
            }
        }
    }

    /// An answer as HTTP/1 bytes, with the headers `write` gives it.
    static func encode(_ response: HTTPResponse, version: HTTPVersion, keepAlive: Bool, withBody: Bool) -> [UInt8] {
        var text = "HTTP/\(version.major).\(version.minor) \(response.status.code) \(response.status.reasonPhrase)\r\n"
        text += "Content-Type: \(response.contentType)\r\nContent-Length: \(response.body.count)\r\n"
        text += "Connection: \(keepAlive ? "keep-alive" : "close")\r\n"
        for (name, value) in response.headers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        var bytes = Array(text.utf8)
        if withBody { bytes += response.body }
        return bytes
    }

    /// Writes an event stream's head and hands the node the connection's sink. The
    /// answer stays pending for as long as the stream lasts: the connection is not idle
    /// while the client waits for events. The stream is the connection's last answer
    /// (`Connection: close`): a request pipelined behind it is never read.
    private func openStream(_ stream: EventStreamReply, context: ChannelHandlerContext, head: HTTPRequestHead) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: stream.format.contentType)
        headers.add(name: "Cache-Control", value: "no-cache")
        headers.add(name: "Connection", value: "close")
        headers.add(name: "X-Hearsay-Index", value: "\(stream.index)")
        streaming = true
        guard head.method != .HEAD else {
            headers.add(name: "Content-Length", value: "0")
            let channel = context.channel
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))),
                promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        awaitingAnswer = true
        context.triggerUserOutboundEvent(HTTPAnswer.pending, promise: nil)
        context.writeAndFlush(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil
        )
        shedHTTPHandlers(context)
        // A client already gone (the write found it reset) gets no stream.
        guard context.channel.isActive, !clientGone else { return }
        let metrics = node.metrics
        let sink = EventSink(context: context, format: stream.format) { metrics.eventStreamCut() }
        let forget = stream.open(NIOLoopBound(sink, eventLoop: context.eventLoop))
        if clientGone { forget() } else { cancelWaiting = forget }
    }

    /// Once a stream's head is written, the connection carries only its chunks, which
    /// the sink frames (`EventSink`), and reads nothing more that matters: the HTTP
    /// handlers go, and with them most of what each of thousands of idle streams holds
    /// (their idle timer, re-armed every minute, among it). What the client still sends
    /// reaches this handler as bytes, and is dropped (`streaming`); its close is seen.
    private func shedHTTPHandlers(_ context: ChannelHandlerContext) {
        let pipeline = context.pipeline.syncOperations
        func remove<Handler: RemovableChannelHandler>(_ type: Handler.Type) {
            if let handler = try? pipeline.handler(type: type) { pipeline.removeHandler(handler, promise: nil) }
        }
        remove(IdleStateHandler.self)
        remove(HTTPServerProtocolErrorHandler.self)
        remove(NIOHTTPResponseHeadersValidator.self)
        remove(HTTPServerPipelineHandler.self)
        remove(HTTPResponseEncoder.self)
        remove(ByteToMessageHandler<HTTPRequestDecoder>.self)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // A client gone while its query waited: the node forgets the query now rather
        // than hold it until its wait ends.
        clientGone = true
        cancelWaiting?()
        cancelWaiting = nil
        context.fireChannelInactive()
    }

    private func reject(context: ChannelHandlerContext) {
        rejected = true
        discarded = 0
        body = []
        releaseHeld()
        let response = HTTPResponse.error(.payloadTooLarge, "request body larger than \(maxBodyBytes) bytes")
        write(response, to: context, head: head, keepAlive: false, closeAfter: false)
    }

    /// Bodies in progress hold the whole budget: this one is refused at once, and its
    /// connection closed, since the rest of the body would otherwise have to be read.
    private func refuseForBudget(context: ChannelHandlerContext) {
        rejected = true
        body = []
        releaseHeld()
        let from = context.remoteAddress
        node.assumeIsolated {
            $0.connectionCut(on: .http, .budget, from: from, "request bodies in progress hold the HTTP buffer budget")
        }
        let response = HTTPResponse.error(
            .serviceUnavailable, "request bodies in progress fill the server's buffer: try again later")
        write(response, to: context, head: head, keepAlive: false, closeAfter: true)
    }

    private func releaseHeld() {
        guard held > 0 else { return }
        let bytes = held
        held = 0
        node.assumeIsolated { $0.releaseBuffer(bytes, on: .http) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        releaseHeld()
    }

    private func write(
        _ response: HTTPResponse, to context: ChannelHandlerContext, head: HTTPRequestHead?, keepAlive: Bool,
        closeAfter: Bool = true
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: "\(response.body.count)")
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        let version = head?.version ?? .http1_1
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: version, status: response.status, headers: headers))),
            promise: nil)
        if head?.method != .HEAD {
            context.write(
                wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))),
                promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive && closeAfter {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            if !awaitingAnswer { context.close(promise: nil) }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// A request that does not parse (a malformed line, header or length, an HTTP/2
    /// preface) has been answered 400 with `Connection: close` by NIO's error handler,
    /// which is flushed by then; nothing more can be read from the connection, so it
    /// closes now instead of at the idle timeout.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
