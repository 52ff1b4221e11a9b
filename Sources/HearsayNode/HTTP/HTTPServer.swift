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
        return try await ServerBootstrap(group: node.eventLoop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(HTTPConnectionGuard(node: node, timeout: timeout))
                    try sync.addHandler(HTTPRequestHandler(node: node, maxBodyBytes: maxBody))
                }
            }
            .bind(host: address.host, port: address.port).get()
    }
}

/// Reads one request at a time (head and body up to the limit), hands it to the node's
/// router, and writes the answer. A body over the limit is answered with 413 before it
/// is read further, and the connection is closed. A body's bytes are held in the HTTP
/// port's buffer budget while they arrive: when all bodies in progress would pass it, the
/// request is answered 503 and its connection closed. A request that does not parse is
/// answered (400, 431 or 501) and its connection closed at once.
///
/// Requests pipelined behind one whose answer is awaited wait unparsed, and no more is
/// read meanwhile, so a pipelining client holds at most one read's worth of bytes. A
/// connection idle for a minute between requests is closed.
final class HTTPRequestHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = Any
    typealias OutboundOut = Any

    static let idleTimeout = TimeAmount.seconds(60)
    /// An empty buffer to parse from when nothing is buffered: the parser may still have
    /// a request's end to report.
    private static let noBytes = ByteBuffer()

    private let node: Node
    private let maxBodyBytes: Int
    private var parser = HTTP1RequestParser()
    /// Bytes read and not parsed yet; nil when there are none, so that an idle connection
    /// holds no buffer.
    private var input: ByteBuffer?
    private var head: HTTP1RequestHead?
    private var body: [UInt8] = []
    /// Set when the request's body was refused (413, or 503 for the budget): the rest of
    /// it is read and dropped, then the connection closes.
    private var rejected = false
    private var discarded = 0
    /// Budget bytes held for the body being received.
    private var held = 0
    /// Set while an answer is awaited from the node.
    private var awaitingAnswer = false
    /// Set when a read was held back while an answer is awaited and bytes wait unparsed.
    private var readDeferred = false
    /// Set once the connection will close: nothing more is parsed.
    private var closing = false
    /// Forgets the blocking query this connection waits on.
    private var cancelWaiting: (@Sendable () -> Void)?
    /// Set once the connection is closed.
    private var clientGone = false
    /// Set once this connection answers with an event stream, its last answer.
    private var streaming = false
    /// Set while a blocking query waits: the connection then holds no timer and no
    /// buffer, for thousands may wait at once.
    private var parked = false
    /// Set when the client sent more while its query waited: the answer closes then.
    private var sentWhileParked = false
    private var idleCheck: Scheduled<Void>?
    /// When the connection last read bytes or wrote an answer.
    private var lastActive = NIODeadline.now()

    init(node: Node, maxBodyBytes: Int) {
        self.node = node
        self.maxBodyBytes = maxBodyBytes
    }

    func channelActive(context: ChannelHandlerContext) {
        lastActive = .now()
        armIdleCheck(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // After a stream (the connection's last answer), or once closing, nothing more
        // is served.
        guard !streaming, !closing else { return }
        // Bytes that came behind a waiting query: rare enough (pipelining behind a
        // blocking query) to be served by closing after the answer, which a client takes
        // as the end of the connection; reading on sees the client go away.
        guard !parked else {
            sentWhileParked = true
            return
        }
        var bytes = unwrapInboundIn(data)
        lastActive = .now()
        if var buffered = input {
            input = nil
            if buffered.readerIndex > 16 * 1024 { buffered.discardReadBytes() }
            buffered.writeBuffer(&bytes)
            input = buffered
        } else {
            input = bytes
        }
        serve(context)
    }

    /// Holds back reads while an answer is awaited and bytes wait unparsed behind it.
    func read(context: ChannelHandlerContext) {
        if awaitingAnswer && !parked && input != nil {
            readDeferred = true
            return
        }
        context.read()
    }

    /// Parses and answers what is buffered, until an answer must be awaited or more
    /// bytes are needed.
    private func serve(_ context: ChannelHandlerContext) {
        while !awaitingAnswer && !closing && !streaming && !parked {
            var buffer = input ?? Self.noBytes
            input = nil
            let part: HTTP1RequestParser.Part?
            do {
                part = try parser.next(&buffer)
            } catch {
                refuse(error, context: context)
                return
            }
            if buffer.readableBytes > 0 { input = buffer }
            guard let part else { return }
            switch part {
            case .head(let requestHead):
                head = requestHead
                body = []
                rejected = false
                discarded = 0
                if case .length(let length) = requestHead.body, length > maxBodyBytes {
                    reject(context: context)
                    // A client that waits for a 100 before its body sends nothing more.
                    if requestHead.expectsContinue { closeAfterWrites(context) }
                } else if requestHead.expectsContinue {
                    context.writeAndFlush(NIOAny(HTTPResponse.continueHead), promise: nil)
                }
            case .body(let chunk):
                receive(chunk, context: context)
            case .end:
                context.triggerUserOutboundEvent(HTTPRequestArrived(), promise: nil)
                guard !rejected else {
                    closeAfterWrites(context)
                    return
                }
                guard let requestHead = head else { return }
                head = nil
                dispatch(requestHead, context: context)
            }
        }
    }

    private func receive(_ chunk: ByteBuffer, context: ChannelHandlerContext) {
        guard !rejected else {
            // Read the rest of a refused body so that closing does not reset the
            // connection under the answer; give up on a client that sends far more.
            discarded += chunk.readableBytes
            if discarded > 16 * maxBodyBytes { closeAfterWrites(context) }
            return
        }
        let size = chunk.readableBytes
        if body.count + size > maxBodyBytes {
            reject(context: context)
            return
        }
        guard node.assumeIsolated({ $0.reserveBuffer(size, on: .http) }) else {
            refuseForBudget(context: context)
            return
        }
        held += size
        body += chunk.readableBytesView
    }

    private func dispatch(_ requestHead: HTTP1RequestHead, context: ChannelHandlerContext) {
        let request = HTTPRequest(
            method: requestHead.method, uri: requestHead.uri, headers: requestHead.headers, body: body)
        body = []
        releaseHeld()
        let reply = node.assumeIsolated { $0.handle(request) }
        switch reply {
        case .now(let response):
            write(response, to: context, head: requestHead)
        case .later(let work):
            let promise = context.eventLoop.makePromise(of: HTTPResponse.self)
            promise.completeWithTask { await work() }
            answer(with: promise.futureResult, context: context, head: requestHead)
        case .promised(let future):
            answer(with: future, context: context, head: requestHead)
        case .parked(let future, let cancel):
            cancelWaiting = cancel
            park(until: future, context: context, head: requestHead)
        case .stream(let stream):
            openStream(stream, context: context, head: requestHead)
        }
    }

    /// Writes the answer once it is ready, then serves what was pipelined behind it.
    /// Meanwhile the connection is not idle: a durable write or a join waits on the
    /// node, not on the client.
    private func answer(
        with future: EventLoopFuture<HTTPResponse>, context: ChannelHandlerContext, head: HTTP1RequestHead
    ) {
        awaitingAnswer = true
        context.triggerUserOutboundEvent(HTTPAnswer.pending, promise: nil)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        future.hop(to: context.eventLoop).whenComplete { result in
            let (handler, context) = bound.value
            handler.awaitingAnswer = false
            handler.cancelWaiting = nil
            // Failed only when the client went away: nothing to write.
            guard case .success(let response) = result, context.channel.isActive else { return }
            // Before the write: writing the answer releases a pipelined request, which
            // may arrive whole (and stop its deadline) within the write itself.
            context.triggerUserOutboundEvent(HTTPAnswer.written, promise: nil)
            handler.write(response, to: context, head: head)
            handler.resume(context)
        }
    }

    /// After an awaited answer: reads again, and serves what waited.
    private func resume(_ context: ChannelHandlerContext) {
        guard !closing else { return }
        lastActive = .now()
        armIdleCheck(context)
        if readDeferred {
            readDeferred = false
            context.read()
        }
        serve(context)
    }

    /// A blocking query waits holding nothing but the channel and this handler: no idle
    /// timer and no buffer. Bytes the client sends meanwhile close the connection after
    /// the answer (`sentWhileParked`).
    private func park(
        until future: EventLoopFuture<HTTPResponse>, context: ChannelHandlerContext, head: HTTP1RequestHead
    ) {
        awaitingAnswer = true
        context.triggerUserOutboundEvent(HTTPAnswer.pending, promise: nil)
        parked = true
        if input != nil {
            sentWhileParked = true
            input = nil
        }
        idleCheck?.cancel()
        idleCheck = nil
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        future.hop(to: context.eventLoop).whenComplete { result in
            let (handler, context) = bound.value
            handler.awaitingAnswer = false
            handler.cancelWaiting = nil
            handler.parked = false
            guard case .success(let response) = result, context.channel.isActive else { return }
            var head = head
            head.keepAlive = head.keepAlive && !handler.sentWhileParked
            context.triggerUserOutboundEvent(HTTPAnswer.written, promise: nil)
            handler.write(response, to: context, head: head)
            handler.resume(context)
        }
    }

    /// Writes an event stream's head and hands the node the connection's sink. The
    /// answer stays pending for as long as the stream lasts: the connection is not idle
    /// while the client waits for events. The stream is the connection's last answer
    /// (`Connection: close`): a request pipelined behind it is never read.
    private func openStream(_ stream: EventStreamReply, context: ChannelHandlerContext, head: HTTP1RequestHead) {
        streaming = true
        input = nil
        idleCheck?.cancel()
        idleCheck = nil
        let isHead = head.method == .HEAD
        let bytes = HTTPResponse.streamHead(
            contentType: stream.format.contentType, index: stream.index, version: head.version, isHead: isHead,
            allocator: context.channel.allocator)
        guard !isHead else {
            context.writeAndFlush(NIOAny(bytes), promise: nil)
            closeAfterWrites(context)
            return
        }
        awaitingAnswer = true
        context.triggerUserOutboundEvent(HTTPAnswer.pending, promise: nil)
        context.writeAndFlush(NIOAny(bytes), promise: nil)
        // A client already gone (the write found it reset) gets no stream.
        guard context.channel.isActive, !clientGone else { return }
        let metrics = node.metrics
        let sink = EventSink(context: context, format: stream.format) { metrics.eventStreamCut() }
        let forget = stream.open(NIOLoopBound(sink, eventLoop: context.eventLoop))
        if clientGone { forget() } else { cancelWaiting = forget }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // A client gone while its query waited: the node forgets the query now rather
        // than hold it until its wait ends.
        clientGone = true
        cancelWaiting?()
        cancelWaiting = nil
        idleCheck?.cancel()
        idleCheck = nil
        input = nil
        context.fireChannelInactive()
    }

    private func reject(context: ChannelHandlerContext) {
        rejected = true
        discarded = 0
        body = []
        releaseHeld()
        let response = HTTPResponse.error(.payloadTooLarge, "request body larger than \(maxBodyBytes) bytes")
        writeClosing(response, context: context)
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
        writeClosing(response, context: context)
        closeAfterWrites(context)
    }

    /// A request that does not parse: nothing more can be read from the connection, so
    /// it is answered with what was wrong and closed now, not at the idle timeout.
    private func refuse(_ error: HTTP1ParseError, context: ChannelHandlerContext) {
        input = nil
        writeClosing(HTTPResponse.error(error.status, error.reason), context: context)
        closeAfterWrites(context)
    }

    /// Writes `response` with `Connection: close`, keeping the connection open: the
    /// caller closes it once it has read what it must.
    private func writeClosing(_ response: HTTPResponse, context: ChannelHandlerContext) {
        let version = head?.version ?? .http1_1
        let bytes = response.encoded(
            version: version, keepAlive: false, withBody: head?.method != .HEAD, allocator: context.channel.allocator)
        context.writeAndFlush(NIOAny(bytes), promise: nil)
    }

    /// Closes the connection once what was written has gone.
    private func closeAfterWrites(_ context: ChannelHandlerContext) {
        closing = true
        input = nil
        let channel = context.channel
        context.writeAndFlush(NIOAny(Self.noBytes)).whenComplete { _ in channel.close(promise: nil) }
    }

    private func write(_ response: HTTPResponse, to context: ChannelHandlerContext, head: HTTP1RequestHead) {
        let bytes = response.encoded(
            version: head.version, keepAlive: head.keepAlive, withBody: head.method != .HEAD,
            allocator: context.channel.allocator)
        let done = context.writeAndFlush(NIOAny(bytes))
        if !head.keepAlive {
            closing = true
            input = nil
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    private func releaseHeld() {
        guard held > 0 else { return }
        let bytes = held
        held = 0
        node.assumeIsolated { $0.releaseBuffer(bytes, on: .http) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        releaseHeld()
        idleCheck?.cancel()
        idleCheck = nil
    }

    /// One timer per connection, due a minute after it was last active, moved on when it
    /// fires early rather than at every read.
    private func armIdleCheck(_ context: ChannelHandlerContext) {
        guard idleCheck == nil, !parked, !streaming, !closing else { return }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        idleCheck = context.eventLoop.scheduleTask(deadline: lastActive + Self.idleTimeout) {
            let (handler, context) = bound.value
            handler.idleCheck = nil
            // An awaited answer re-arms the check once it is written.
            guard !handler.awaitingAnswer, context.channel.isActive else { return }
            if NIODeadline.now() - handler.lastActive >= Self.idleTimeout {
                context.close(promise: nil)
            } else {
                handler.armIdleCheck(context)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
