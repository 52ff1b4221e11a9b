import HearsayWire
import NIOCore

/// Reads the frames of one gossip TCP connection, accepted or opened, and hands each to
/// the node, within the bounds an outsider without the key must not get past:
///
/// - Until a frame on the connection has passed every check, a frame may declare at most
///   `WireLimits.maxUnauthenticatedStreamFrameBytes`, and the socket is read a few KiB at
///   a time. A frame's HMAC comes at its end, so this is what a stranger can make the
///   node hold per connection; senders put an empty frame before a larger one.
/// - Each frame's declared length is held in the gossip port's buffer budget from its
///   prefix until it is whole, so all connections together hold at most that budget.
/// - Each frame must arrive whole within the stream timeout from the end of the one
///   before it (or from the connection's start): a peer that trickles bytes cannot keep
///   a connection, where an idle timer would restart at every byte.
/// - The first frame that fails a check ends the connection (its drop is counted by its
///   reason): a peer with the key sends none, and the rest cannot be trusted to frame.
struct StreamFrameReader: ByteToMessageDecoder {
    typealias InboundOut = Never

    /// What the socket reads at a time before the connection is authenticated.
    static let unauthenticatedReadBytes = 4096

    /// Told down the pipeline when the connection's first frame has passed every check.
    struct Authenticated {}

    /// Why the reader ends a connection, besides a frame that fails a wire check.
    struct Cut: Error {
        let reason: ConnectionCut
        let detail: String
    }

    let node: Node
    let maxFrameBytes: Int
    let timeout: Duration
    private var authenticated = false
    /// Budget bytes held for the frame being read; zero between frames.
    private var held = 0
    private var deadline: Scheduled<Void>?

    init(node: Node, maxFrameBytes: Int, timeout: Duration) {
        self.node = node
        self.maxFrameBytes = maxFrameBytes
        self.timeout = timeout
    }

    mutating func decoderAdded(context: ChannelHandlerContext) {
        armDeadline(context)
    }

    mutating func decoderRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        releaseHeld()
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let prefix = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        let length = Int(prefix)
        if held == 0 {
            if let error = StreamFraming.check(
                length: length, maxFrameBytes: maxFrameBytes, authenticated: authenticated)
            {
                throw error
            }
            let wanted = StreamFraming.prefixBytes + length
            guard node.assumeIsolated({ $0.reserveBuffer(wanted, on: .gossip) }) else {
                throw Cut(reason: .budget, detail: "a frame of \(length) bytes would pass the stream buffer budget")
            }
            held = wanted
        }
        guard buffer.readableBytes >= StreamFraming.prefixBytes + length else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: StreamFraming.prefixBytes)
        let frame = Array(buffer.readSlice(length: length)!.readableBytesView)
        releaseHeld()
        let from = context.remoteAddress
        guard node.assumeIsolated({ $0.frameArrived(frame, from: from, transport: .stream) }) else {
            // A node that has stopped reads nothing more; that is no fault of the peer's.
            guard node.assumeIsolated({ $0.isRunning }) else {
                context.close(promise: nil)
                return .needMoreData
            }
            throw Cut(reason: .badFrame, detail: "a frame failed its checks")
        }
        if !authenticated {
            authenticated = true
            context.fireUserInboundEventTriggered(Authenticated())
            // A peer with the key: read as much as the socket has again.
            context.channel.setOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator()).whenFailure { _ in }
        }
        armDeadline(context)
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        let state = try decode(context: context, buffer: &buffer)
        if state == .needMoreData && buffer.readableBytes > 0 {
            throw WireError.truncated("stream closed inside a frame")
        }
        return state
    }

    private mutating func releaseHeld() {
        guard held > 0 else { return }
        let bytes = held
        held = 0
        node.assumeIsolated { $0.releaseBuffer(bytes, on: .gossip) }
    }

    private mutating func armDeadline(_ context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = Node.deadline(
            for: context.channel, on: .gossip, node: node, after: timeout,
            "no whole frame within the stream timeout of \(timeout.text)")
    }
}
