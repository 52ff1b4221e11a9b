import NIOCore
import NIOHTTP1

/// Answers the node gives later (a durable write, a join, a blocking query) and event
/// streams: what the connection does while it waits, and how it goes on after.
extension HTTPRequestHandler {
    /// Writes the answer once it is ready, then serves what was pipelined behind it.
    /// Meanwhile the connection is not idle: a durable write or a join waits on the
    /// node, not on the client.
    func answer(
        with future: EventLoopFuture<HTTPResponse>, context: ChannelHandlerContext, framing: AnswerFraming
    ) {
        awaitingAnswer = true
        context.triggerUserOutboundEvent(HTTPAnswer.pending, promise: nil)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        future.hop(to: context.eventLoop).whenComplete { result in
            let (handler, context) = bound.value
            handler.awaitingAnswer = false
            handler.cancelWaiting = nil
            handler.deliver(result, to: context, framing: framing)
        }
    }

    /// Writes an awaited answer, then serves what was pipelined behind it. An answer that
    /// failed (the node stopped under it) is a 500 that closes the connection: the client
    /// is told, rather than left waiting on a connection that reads no more.
    func deliver(
        _ result: Result<HTTPResponse, any Error>, to context: ChannelHandlerContext, framing: AnswerFraming
    ) {
        guard context.channel.isActive else { return }
        // Before the write: writing the answer releases a pipelined request, which may
        // arrive whole (and stop its deadline) within the write itself.
        context.triggerUserOutboundEvent(HTTPAnswer.written, promise: nil)
        switch result {
        case .success(let response):
            write(response, to: context, framing: framing)
        case .failure:
            var framing = framing
            framing.keepAlive = false
            write(.error(.internalServerError, "the answer could not be made"), to: context, framing: framing)
        }
        resume(context)
    }

    /// After an awaited answer, or once the socket drains: reads again, and serves what
    /// waited.
    func resume(_ context: ChannelHandlerContext) {
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
    func park(
        until future: EventLoopFuture<HTTPResponse>, context: ChannelHandlerContext, framing: AnswerFraming
    ) {
        awaitingAnswer = true
        context.triggerUserOutboundEvent(HTTPAnswer.parked, promise: nil)
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
            var framing = framing
            framing.keepAlive = framing.keepAlive && !handler.sentWhileParked
            handler.deliver(result, to: context, framing: framing)
        }
    }

    /// Writes an event stream's head and hands the node the connection's sink. The
    /// answer stays pending for as long as the stream lasts: the connection is not idle
    /// while the client waits for events. The stream is the connection's last answer
    /// (`Connection: close`): a request pipelined behind it is never read.
    func openStream(_ stream: EventStreamReply, context: ChannelHandlerContext, framing: AnswerFraming) {
        streaming = true
        input = nil
        idleCheck?.cancel()
        idleCheck = nil
        let isHead = !framing.withBody
        let bytes = HTTPResponse.streamHead(
            contentType: stream.format.contentType, index: stream.index, version: framing.version, isHead: isHead,
            allocator: context.channel.allocator)
        guard !isHead else {
            context.writeAndFlush(NIOAny(bytes), promise: nil)
            closeAfterWrites(context)
            return
        }
        awaitingAnswer = true
        context.triggerUserOutboundEvent(HTTPAnswer.parked, promise: nil)
        context.writeAndFlush(NIOAny(bytes), promise: nil)
        // A client already gone (the write found it reset) gets no stream.
        guard context.channel.isActive, !clientGone else { return }
        let metrics = node.metrics
        let sink = EventSink(context: context, format: stream.format, chunked: framing.version.minor >= 1) {
            metrics.eventStreamCut()
        }
        let forget = stream.open(NIOLoopBound(sink, eventLoop: context.eventLoop))
        if clientGone { forget() } else { cancelWaiting = forget }
    }
}
