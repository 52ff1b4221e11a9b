import NIOCore
import NIOHTTP1

/// How a connection ends: refused bodies and requests, answers that close it, and the
/// idle check that bounds how long a silent client (or one that reads nothing) keeps it.
extension HTTPRequestHandler {
    func reject(context: ChannelHandlerContext) {
        rejected = true
        discarded = 0
        body = []
        releaseHeld()
        let response = HTTPResponse.error(.payloadTooLarge, "request body larger than \(maxBodyBytes) bytes")
        writeClosing(response, context: context)
    }

    /// Bodies in progress hold the whole budget: this one is refused at once, and its
    /// connection closed, since the rest of the body would otherwise have to be read.
    func refuseForBudget(context: ChannelHandlerContext) {
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
    func refuse(_ error: HTTP1ParseError, context: ChannelHandlerContext) {
        input = nil
        // A body already refused (413) has had its answer: one answer per request.
        if !rejected { writeClosing(HTTPResponse.error(error.status, error.reason), context: context) }
        closeAfterWrites(context)
    }

    /// Writes `response` with `Connection: close`, keeping the connection open: the
    /// caller closes it once it has read what it must.
    func writeClosing(_ response: HTTPResponse, context: ChannelHandlerContext) {
        let version = head?.version ?? .http1_1
        let bytes = response.encoded(
            version: version, keepAlive: false, withBody: head?.method != .HEAD, allocator: context.channel.allocator)
        context.writeAndFlush(NIOAny(bytes), promise: nil)
    }

    /// Closes the connection once what was written has gone, or at the idle timeout if
    /// the client does not take it.
    func closeAfterWrites(_ context: ChannelHandlerContext) {
        startClosing(context)
        let channel = context.channel
        context.writeAndFlush(NIOAny(Self.noBytes)).whenComplete { _ in channel.close(promise: nil) }
    }

    /// Nothing more is parsed; the idle check now bounds how long the client may take to
    /// read what is written, so that a client that never reads does not keep its
    /// connection (and the answer) for ever.
    func startClosing(_ context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        input = nil
        lastActive = .now()
        armIdleCheck(context)
    }

    /// One timer per connection, due `idleTimeout` after it was last active, moved on
    /// when it fires early rather than at every read. A connection that is closing has
    /// one too, even after a stream: its last bytes may never be read.
    func armIdleCheck(_ context: ChannelHandlerContext) {
        guard idleCheck == nil, closing || (!parked && !streaming) else { return }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let timeout = idleTimeout
        idleCheck = context.eventLoop.scheduleTask(deadline: lastActive + timeout) {
            let (handler, context) = bound.value
            handler.idleCheck = nil
            // An awaited answer re-arms the check once it is written.
            guard handler.closing || !handler.awaitingAnswer, context.channel.isActive else { return }
            if NIODeadline.now() - handler.lastActive >= timeout {
                context.close(promise: nil)
            } else {
                handler.armIdleCheck(context)
            }
        }
    }
}
