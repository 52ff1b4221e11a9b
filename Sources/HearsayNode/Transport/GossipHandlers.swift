import HearsayCore
import HearsayWire
import NIOCore

/// Hands every datagram on the gossip UDP socket to the node.
final class DatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let node: Node

    init(node: Node) {
        self.node = node
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let bytes = Array(envelope.data.readableBytesView)
        let from = envelope.remoteAddress
        // The channel lives on the node's event loop, which is the node's executor.
        node.assumeIsolated { $0.frameArrived(bytes, from: from, transport: .datagram) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // An ICMP error for an earlier send (port unreachable): the peer may be gone;
        // the failure detector decides that, the socket stays open.
        node.assumeIsolated { $0.transportError(error, context: "udp") }
    }
}

/// Splits a TCP byte stream into frames by their 4-byte big-endian length prefix,
/// refusing a length above the limit before buffering it.
struct LengthPrefixedFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let maxFrameBytes: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard Int(length) <= maxFrameBytes else {
            throw WireError.tooLarge("stream frame of \(length) bytes, limit \(maxFrameBytes)")
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
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
}

/// Hands each frame of a gossip TCP connection to the node; closes the connection when
/// it idles or breaks the framing.
///
/// A connection carries frames both ways. Its opener writes, shuts its output and reads
/// until the other side closes; the accepting side registers the connection with the
/// node while it is open, so that an answer to a sender the node does not know yet (a
/// restarted node, an unknown member's first round) goes back on it, rather than to the
/// connection's source port, where nobody listens. When the opener's output ends, the
/// accepting side closes once its answers are written.
final class StreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let node: Node
    let accepted: Bool

    init(node: Node, accepted: Bool) {
        self.node = node
        self.accepted = accepted
    }

    func channelActive(context: ChannelHandlerContext) {
        if accepted, let from = context.remoteAddress {
            let channel = context.channel
            node.assumeIsolated { $0.streamOpened(channel, from: from) }
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if accepted, let from = context.remoteAddress {
            let channel = context.channel
            node.assumeIsolated { $0.streamClosed(channel, from: from) }
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(unwrapInboundIn(data).readableBytesView)
        let from = context.remoteAddress
        node.assumeIsolated { $0.frameArrived(bytes, from: from, transport: .stream) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else if let event = event as? ChannelEvent, event == .inputClosed {
            // Every answer to the frames read was written while they were handled; an
            // empty write completes after them.
            let channel = context.channel
            context.writeAndFlush(NIOAny(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
                channel.close(promise: nil)
            }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let from = context.remoteAddress
        node.assumeIsolated { node in
            if let wire = error as? WireError {
                node.frameRejected(wire, from: from, transport: .stream)
            } else if let decoder = error as? ByteToMessageDecoderError,
                case .dataReceivedInErrorState = decoder
            {
                // The decoder already failed on this connection; the first error was counted.
            } else {
                node.transportError(error, context: "tcp")
            }
        }
        context.close(promise: nil)
    }
}
