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
        node.assumeIsolated { _ = $0.frameArrived(bytes, from: from, transport: .datagram) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // An ICMP error for an earlier send (port unreachable): the peer may be gone;
        // the failure detector decides that, the socket stays open.
        node.assumeIsolated { $0.transportError(error, context: "udp") }
    }
}

/// The life of a gossip TCP connection around its `StreamFrameReader`: admission under
/// the connection limits, the half-close protocol, and what ends a connection early.
///
/// A connection carries frames both ways. Its opener writes, shuts its output and reads
/// until the other side closes; the accepting side registers the connection with the
/// node while it is open, so that an answer to a sender the node does not know yet (a
/// restarted node, an unknown member's first round) goes back on it, rather than to the
/// connection's source port, where nobody listens. When the opener's output ends, the
/// accepting side closes once its answers are written.
final class StreamHandler: ChannelInboundHandler {
    typealias InboundIn = Never
    let node: Node
    let accepted: Bool
    /// Whether this accepted connection holds a place under the connection limits.
    private var admitted = false
    /// Whether a valid frame arrived on the connection.
    private var answered = false

    init(node: Node, accepted: Bool) {
        self.node = node
        self.accepted = accepted
    }

    func channelActive(context: ChannelHandlerContext) {
        if accepted {
            let channel = context.channel
            let from = context.remoteAddress
            admitted = node.assumeIsolated { $0.admitConnection(on: .gossip, from: from) }
            guard admitted else {
                context.close(promise: nil)
                return
            }
            if let from { node.assumeIsolated { $0.streamOpened(channel, from: from) } }
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !accepted && !answered {
            // What a seed with another key does with a join (see JoinEvidence).
            node.assumeIsolated { $0.streamEndedUnanswered() }
        }
        if admitted {
            admitted = false
            let channel = context.channel
            let from = context.remoteAddress
            node.assumeIsolated { node in
                node.connectionClosed(on: .gossip, from: from)
                if let from { node.streamClosed(channel, from: from) }
            }
        }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is StreamFrameReader.Authenticated {
            answered = true
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
                node.connectionCut(on: .gossip, .badFrame, from: from, "\(wire.reason): \(wire.detail)")
            } else if let cut = error as? StreamFrameReader.Cut {
                node.connectionCut(on: .gossip, cut.reason, from: from, cut.detail)
            } else if let decoder = error as? ByteToMessageDecoderError,
                case .dataReceivedInErrorState = decoder
            {
                // The reader already failed on this connection; the first error was counted.
            } else {
                node.transportError(error, context: "tcp")
            }
        }
        context.close(promise: nil)
    }
}
