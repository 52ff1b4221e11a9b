import HearsayCore
import NIOCore
import NIOHTTP1

/// How a stream spells its events: one JSON object a line, or server-sent events
/// (`id`, `event` and `data` lines) for browsers and `EventSource` clients.
enum EventFormat: Sendable {
    case ndjson, sse

    var contentType: String { self == .ndjson ? "application/x-ndjson" : "text/event-stream" }

    func bytes(_ event: ClusterEvent) -> [UInt8] {
        switch self {
        case .ndjson:
            return event.line + [UInt8(ascii: "\n")]
        case .sse:
            var bytes = Array("id: \(event.index)\nevent: \(event.type)\ndata: ".utf8)
            bytes += event.line
            bytes += Array("\n\n".utf8)
            return bytes
        }
    }
}

/// An event's bytes in each format, made the first time a stream wants them and shared
/// by every stream after it (a `ByteBuffer` written to many channels is one copy).
struct EventFrames {
    private let event: ClusterEvent
    private var ndjson: ByteBuffer?
    private var sse: ByteBuffer?

    init(_ event: ClusterEvent) { self.event = event }

    mutating func buffer(_ format: EventFormat) -> ByteBuffer {
        switch format {
        case .ndjson:
            if let ndjson { return ndjson }
            let made = ByteBufferAllocator().buffer(bytes: format.bytes(event))
            ndjson = made
            return made
        case .sse:
            if let sse { return sse }
            let made = ByteBufferAllocator().buffer(bytes: format.bytes(event))
            sse = made
            return made
        }
    }
}

/// The unread bytes of every event stream of a node, against one bound: with
/// thousands of streams, each within its own bound could still hold gigabytes. Past it,
/// the streams that hold the most are cut (`EventHub`).
final class StreamBudget {
    static let capacity = 64 * 1024 * 1024
    var used = 0
}

/// What `GET /v1/events` answers: a stream, opened once its head is written.
package struct EventStreamReply: Sendable {
    let format: EventFormat
    /// The last event's index when the stream opens (`X-Hearsay-Index`).
    let index: UInt64
    /// Registers the connection's sink with the node; returns what forgets it.
    let open: @Sendable (NIOLoopBound<EventSink>) -> @Sendable () -> Void
}

/// One event stream's connection. Used on the event loop of the node and its HTTP
/// connections only (`NIOLoopBound` carries it).
///
/// A client that reads slower than events come is cut off: once more than
/// `maxUnwrittenBytes` wait to be written to its socket, the stream ends with a
/// `stream_cut` event, and the connection closes once that is written, or after
/// `closeGrace` if the client reads nothing more: then what waited is dropped with the
/// connection. A slow reader holds the agent's memory for that long at most; the client
/// reconnects with `index` and learns what it missed.
final class EventSink {
    static let maxUnwrittenBytes = 256 * 1024
    static let closeGrace: TimeAmount = .seconds(5)

    private let context: ChannelHandlerContext
    private let format: EventFormat
    /// Whether events go as chunks (HTTP/1.1) or bare until the connection closes
    /// (HTTP/1.0, `HTTPResponse.streamHead`).
    private let chunked: Bool
    private let cut: @Sendable () -> Void
    /// Bytes written to the channel and not yet taken by its socket.
    private(set) var unwritten = 0
    private var open = true
    /// Set when the node hands the sink its budget (`attach`).
    private var budget: StreamBudget?

    /// `cut` counts a stream cut off for its slow reader.
    init(
        context: ChannelHandlerContext, format: EventFormat, chunked: Bool, cut: @escaping @Sendable () -> Void
    ) {
        self.context = context
        self.format = format
        self.chunked = chunked
        self.cut = cut
    }

    /// Whether the stream still runs.
    var isOpen: Bool { open && context.channel.isActive }

    /// Counts this stream's unread bytes against `budget` too.
    func attach(_ budget: StreamBudget) {
        self.budget = budget
    }

    /// Writes `event`; false once the stream has ended (closed, or cut off now). A
    /// replay of the history (`replaying`) may pass the stream's own bound, since the
    /// history is bounded itself.
    func send(_ event: ClusterEvent, frames: inout EventFrames, replaying: Bool = false) -> Bool {
        guard isOpen else {
            open = false
            return false
        }
        guard replaying || unwritten <= Self.maxUnwrittenBytes else {
            cut()
            finish(
                type: "stream_cut",
                reason: "the client read too slowly: \(unwritten) bytes waited to be written; reconnect with index",
                index: event.index - 1, now: nil)
            return false
        }
        write(frames.buffer(format))
        return true
    }

    /// Ends the stream with a last event saying why, and closes the connection.
    func finish(reason: String, index: UInt64, now: Instant) {
        finish(type: "stream_end", reason: reason, index: index, now: now)
    }

    /// Cuts the stream at once, dropping what its client has not read: the streams
    /// together hold too much (`StreamBudget`), and this one the most.
    func abort() {
        guard open else { return }
        open = false
        cut()
        context.channel.close(promise: nil)
    }

    private func finish(type: String, reason: String, index: UInt64, now: Instant?) {
        guard open else { return }
        open = false
        guard context.channel.isActive else { return }
        // The index of the last event this stream was sent: where the client resumes.
        let last = ClusterEvent(
            index: index, type: type, time: now ?? SystemClock.wall(), address: nil, fields: ["reason": .string(reason)]
        )
        write(ByteBufferAllocator().buffer(bytes: format.bytes(last)))
        let channel = context.channel
        let grace = context.eventLoop.scheduleTask(in: Self.closeGrace) { channel.close(promise: nil) }
        // The last chunk: empty. Unchunked, the close itself ends the stream.
        let end = context.channel.allocator.buffer(string: chunked ? "0\r\n\r\n" : "")
        context.writeAndFlush(NIOAny(end)).whenComplete { _ in
            grace.cancel()
            channel.close(promise: nil)
        }
    }

    /// Writes `buffer` as one chunk of the answer: the connection's handler writes the
    /// stream's head and nothing after it (`HTTPRequestHandler.openStream`), and `buffer`
    /// may be shared with other streams, so its size line and end go around it.
    private func write(_ buffer: ByteBuffer) {
        let size = buffer.readableBytes
        guard size > 0 else { return }
        let framed = size + (chunked ? 8 : 0)
        unwritten += framed
        budget?.used += framed
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let written: EventLoopFuture<Void>
        if chunked {
            context.write(
                NIOAny(context.channel.allocator.buffer(string: String(size, radix: 16) + "\r\n")), promise: nil)
            context.write(NIOAny(buffer), promise: nil)
            written = context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: "\r\n")))
        } else {
            written = context.writeAndFlush(NIOAny(buffer))
        }
        written.whenComplete { _ in
            let sink = bound.value
            sink.unwritten -= framed
            sink.budget?.used -= framed
        }
    }
}
