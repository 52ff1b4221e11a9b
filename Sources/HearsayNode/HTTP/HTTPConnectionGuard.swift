import NIOCore
import NIOHTTP1

/// Told to the connection's guard (an outbound user event) when a request's head and
/// body have arrived whole: the request deadline stops until the next request begins.
struct HTTPRequestArrived {}

/// Told to the guard while the answer to a request is awaited from the node (a blocking
/// query, a durable write, a join), and once it is written: a pipelined request that
/// arrives meanwhile waits in the HTTP pipeline, and its deadline starts only then.
/// `parked` is an answer awaited for minutes (a blocking query, an event stream): the
/// guard drops its deadline check rather than keep a scheduled task per waiting client.
enum HTTPAnswer {
    case pending, parked, written
}

/// The first handler of every HTTP connection: admits it under the connection limits,
/// and gives each request a deadline from its first byte until its body is whole.
///
/// A connection over a limit is answered 503 and closed once its first bytes are read
/// (closing a socket with unread input resets it, and the client could lose the answer),
/// or after a second if the client sends nothing. The deadline runs on raw bytes, before
/// the HTTP parser: a client that sends a header or a body a byte at a time loses its
/// connection when it ends, where an idle timer would restart at every byte.
final class HTTPConnectionGuard: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = Any
    typealias OutboundOut = Any

    private let node: Node
    private let timeout: Duration
    /// `timeout` as NIO counts time, converted once rather than for every request.
    private let window: TimeAmount
    private var admitted = false
    private var refused = false
    /// The refused connection's one-second close, or the check of the request deadline.
    private var deadline: Scheduled<Void>?
    /// When the request in progress began; nil between requests.
    private var requestStarted: NIODeadline?
    private var answerPending = false
    private var readWhilePending = false

    init(node: Node, timeout: Duration) {
        self.node = node
        self.timeout = timeout
        self.window = .nanoseconds(timeout.nanoseconds)
    }

    func channelActive(context: ChannelHandlerContext) {
        let from = context.remoteAddress
        admitted = node.assumeIsolated { $0.admitConnection(on: .http, from: from) }
        guard admitted else {
            refused = true
            let channel = context.channel
            deadline = context.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
            return
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        if admitted {
            admitted = false
            let from = context.remoteAddress
            node.assumeIsolated { $0.connectionClosed(on: .http, from: from) }
            context.fireChannelInactive()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if refused {
            guard deadline != nil else { return }
            deadline?.cancel()
            deadline = nil
            let channel = context.channel
            context.writeAndFlush(NIOAny(channel.allocator.buffer(bytes: Self.refusal))).whenComplete { _ in
                channel.close(promise: nil)
            }
            return
        }
        if answerPending {
            readWhilePending = true
        } else if requestStarted == nil {
            startRequest(context)
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if event is HTTPRequestArrived {
            // The check stays scheduled: the next request on the connection (most come
            // in keep-alive) uses it instead of scheduling and cancelling its own.
            requestStarted = nil
        } else if let answer = event as? HTTPAnswer {
            switch answer {
            case .pending:
                answerPending = true
            case .parked:
                answerPending = true
                if requestStarted == nil {
                    deadline?.cancel()
                    deadline = nil
                }
            case .written:
                answerPending = false
                if readWhilePending, requestStarted == nil, context.channel.isActive {
                    readWhilePending = false
                    startRequest(context)
                }
            }
        } else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        promise?.succeed()
    }

    /// Starts the deadline of a request. One check per connection, due at the oldest
    /// deadline it may have to enforce, moved on when it fires early, rather than a
    /// timer scheduled and cancelled for every request.
    private func startRequest(_ context: ChannelHandlerContext) {
        requestStarted = .now()
        if deadline == nil { armCheck(context, at: requestStarted! + window) }
    }

    private func armCheck(_ context: ChannelHandlerContext, at due: NIODeadline) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(deadline: due) {
            let (guardHandler, context) = bound.value
            guardHandler.deadline = nil
            guardHandler.checkDeadline(context)
        }
    }

    private func checkDeadline(_ context: ChannelHandlerContext) {
        guard let started = requestStarted, context.channel.isActive else { return }
        let due = started + window
        guard NIODeadline.now() >= due else {
            armCheck(context, at: due)
            return
        }
        Node.cutAtDeadline(
            context.channel, on: .http, node: node,
            "the request did not arrive whole within the HTTP request timeout of \(timeout.text)")
    }

    /// The whole answer to a refused connection.
    private static let refusal: [UInt8] = {
        let body = #"{"error":"too many connections: try again later"}"#
        let text =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
            + "Connection: close\r\nRetry-After: 1\r\n\r\n" + body
        return Array(text.utf8)
    }()
}
