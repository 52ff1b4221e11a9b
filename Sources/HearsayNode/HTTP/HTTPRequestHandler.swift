import NIOCore
import NIOHTTP1

/// Reads one request at a time (head and body up to the limit), hands it to the node's
/// router, and writes the answer. A body over the limit is answered with 413 before it
/// is read further, and the connection is closed. A body's bytes are held in the HTTP
/// port's buffer budget while they arrive: when all bodies in progress would pass it, the
/// request is answered 503 and its connection closed. A request that does not parse is
/// answered (400, 431 or 501) and its connection closed at once.
///
/// Requests pipelined behind one whose answer is awaited wait unparsed, and no more is
/// read meanwhile, so a pipelining client holds at most one read's worth of bytes; nor
/// while the socket takes no more of the answers already written. A connection idle
/// for `--http-idle-timeout` between requests is closed, and so is one that is to close
/// after its answer and whose client has not taken it within that time.
///
/// Its state is internal rather than private only so that its extensions (waiting for
/// answers in `+Waiting`, ending connections in `+Closing`) share it; nothing else in
/// the module touches it.
final class HTTPRequestHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = Any
    typealias OutboundOut = Any

    /// An empty buffer to parse from when nothing is buffered: the parser may still have
    /// a request's end to report.
    static let noBytes = ByteBuffer()

    let node: Node
    let maxBodyBytes: Int
    let idleTimeout: TimeAmount
    var parser = HTTP1RequestParser()
    /// Bytes read and not parsed yet; nil when there are none, so that an idle connection
    /// holds no buffer.
    var input: ByteBuffer?
    var head: HTTP1RequestHead?
    var body: [UInt8] = []
    /// Set when the request's body was refused (413, or 503 for the budget): the rest of
    /// it is read and dropped, then the connection closes.
    var rejected = false
    var discarded = 0
    /// Budget bytes held for the body being received.
    var held = 0
    /// Set while an answer is awaited from the node.
    var awaitingAnswer = false
    /// Set when a read was held back while an answer is awaited (or the socket takes no
    /// more) and bytes wait unparsed.
    var readDeferred = false
    /// Set while `serve` runs: an answer that completes within it (a future already
    /// fulfilled) lets the loop go on rather than start another, so that a read of many
    /// pipelined requests does not nest a call per request.
    var serving = false
    /// Set while answers wait in the channel for a socket that takes no more: nothing
    /// more is parsed until it drains, so a client that sends requests and never reads
    /// the answers cannot make the agent hold them all.
    var blockedOnWrites = false
    /// Set once the connection will close: nothing more is parsed.
    var closing = false
    /// Forgets the blocking query this connection waits on.
    var cancelWaiting: (@Sendable () -> Void)?
    /// Set once the connection is closed.
    var clientGone = false
    /// Set once this connection answers with an event stream, its last answer.
    var streaming = false
    /// Set while a blocking query waits: the connection then holds no timer and no
    /// buffer, for thousands may wait at once.
    var parked = false
    /// Set when the client sent more while its query waited: the answer closes then.
    var sentWhileParked = false
    var idleCheck: Scheduled<Void>?
    /// When the connection last read bytes, or went on after an awaited answer or a
    /// socket that took no more.
    var lastActive = NIODeadline.now()

    init(node: Node, maxBodyBytes: Int, idleTimeout: TimeAmount) {
        self.node = node
        self.maxBodyBytes = maxBodyBytes
        self.idleTimeout = idleTimeout
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

    /// Holds back reads while an answer is awaited, or the socket takes no more, and
    /// bytes wait unparsed behind it.
    func read(context: ChannelHandlerContext) {
        if ((awaitingAnswer && !parked) || blockedOnWrites) && input != nil {
            readDeferred = true
            return
        }
        context.read()
    }

    /// Parses and answers what is buffered, until an answer must be awaited or more
    /// bytes are needed.
    func serve(_ context: ChannelHandlerContext) {
        guard !serving else { return }
        serving = true
        defer { serving = false }
        while !awaitingAnswer && !closing && !streaming && !parked {
            guard context.channel.isWritable else {
                // Told to the guard as an awaited answer is: a request that arrives
                // meanwhile waits on the client's reading, and its deadline starts
                // once the answers before it have gone.
                if !blockedOnWrites { context.triggerUserOutboundEvent(HTTPAnswer.pending, promise: nil) }
                blockedOnWrites = true
                return
            }
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
        let framing = AnswerFraming(requestHead)
        switch reply {
        case .now(let response):
            write(response, to: context, framing: framing)
        case .later(let work):
            let promise = context.eventLoop.makePromise(of: HTTPResponse.self)
            promise.completeWithTask { await work() }
            answer(with: promise.futureResult, context: context, framing: framing)
        case .promised(let future):
            answer(with: future, context: context, framing: framing)
        case .parked(let future, let cancel):
            cancelWaiting = cancel
            park(until: future, context: context, framing: framing)
        case .stream(let stream):
            openStream(stream, context: context, framing: framing)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if blockedOnWrites && context.channel.isWritable {
            blockedOnWrites = false
            context.triggerUserOutboundEvent(HTTPAnswer.written, promise: nil)
            resume(context)
        }
        context.fireChannelWritabilityChanged()
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

    func write(_ response: HTTPResponse, to context: ChannelHandlerContext, framing: AnswerFraming) {
        let bytes = response.encoded(
            version: framing.version, keepAlive: framing.keepAlive, withBody: framing.withBody,
            allocator: context.channel.allocator)
        let done = context.writeAndFlush(NIOAny(bytes))
        if !framing.keepAlive {
            startClosing(context)
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func releaseHeld() {
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

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// What writing an answer needs of its request. An awaited answer keeps this rather than
/// the request's head, whose target and header fields are heap storage that each of
/// thousands of waiting blocking queries would hold for nothing.
struct AnswerFraming {
    var version: HTTPVersion
    var keepAlive: Bool
    /// False for HEAD: the answer's head alone.
    var withBody: Bool

    init(_ head: HTTP1RequestHead) {
        version = head.version
        keepAlive = head.keepAlive
        withBody = head.method != .HEAD
    }
}
