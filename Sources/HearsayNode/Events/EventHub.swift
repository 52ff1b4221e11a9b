import HearsayCore

/// The node's event streams (`GET /v1/events`): the recent events, kept so that a
/// watcher that reconnects resumes where it stopped, and the streams that listen.
///
/// Bounded everywhere: the history holds the last `historyLimit` events and at most
/// `historyBytes` of them (values can be large); each stream holds at most
/// `EventSink.maxUnwrittenBytes` that its client has not read, and all streams together
/// `StreamBudget.capacity`, before a stream is cut with a final `stream_cut` event. An
/// event's bytes are rendered once and shared by every stream that writes them.
///
/// A class, used on the node's event loop only: writing to a stream can close its
/// channel within the write, and the close comes back here (`close`) while the writes
/// go on. Events published meanwhile (a pipelined request answered within a write)
/// wait for the ones being written, so every stream sees them in index order.
final class EventHub {
    /// Events kept for resuming.
    static let historyLimit = 1024
    /// Bytes of events kept for resuming.
    static let historyBytes = 4 * 1024 * 1024

    /// The index the next event gets.
    private(set) var nextIndex: UInt64 = 1
    private var history: [ClusterEvent?] = Array(repeating: nil, count: historyLimit)
    private var heldBytes = 0
    /// The oldest event the byte bound has kept.
    private var oldestHeld: UInt64 = 1
    private var streams: [UInt64: (filter: EventFilter, sink: EventSink)] = [:]
    private var nextStreamID: UInt64 = 1
    private var queued: [ClusterEvent] = []
    private var delivering = false
    /// What every stream's unread bytes count against.
    let budget = StreamBudget()

    /// The open streams.
    var count: Int { streams.count }

    /// The last event's index (0 before the first).
    var lastIndex: UInt64 { nextIndex - 1 }

    /// The oldest event still held.
    private var oldestIndex: UInt64 {
        max(oldestHeld, nextIndex > UInt64(Self.historyLimit) ? nextIndex - UInt64(Self.historyLimit) : 1)
    }

    /// Records an event and writes it to every stream that wants it.
    func publish(_ type: String, at time: Instant, address: MetadataAddress? = nil, _ fields: [String: JSONValue]) {
        publish(ClusterEvent(index: nextIndex, type: type, time: time, address: address, fields: fields))
    }

    /// Records `event`, made with `nextIndex`, and writes it to its streams.
    func publish(_ event: ClusterEvent) {
        precondition(event.index == nextIndex, "events are published in index order")
        keep(event)
        queued.append(event)
        guard !delivering else { return }
        delivering = true
        defer { delivering = false }
        while !queued.isEmpty {
            if budget.used > StreamBudget.capacity { relieveBudget() }
            let next = queued.removeFirst()
            var frames = EventFrames(next)
            for (id, stream) in streams where stream.filter.admits(next) {
                if !stream.sink.send(next, frames: &frames) { streams[id] = nil }
            }
        }
    }

    /// Cuts the streams that hold the most unread bytes, at once, until all of them
    /// together hold three quarters of the budget: a few stalled readers never get the
    /// streams that keep up cut.
    private func relieveBudget() {
        let holders = streams.sorted { $0.value.sink.unwritten > $1.value.sink.unwritten }
        for (id, stream) in holders where budget.used > StreamBudget.capacity / 4 * 3 {
            stream.sink.abort()
            streams[id] = nil
        }
    }

    /// Writes a heartbeat to every stream, so that a client learns that its stream is
    /// alive while nothing happens; it carries the last index and is not kept.
    func heartbeat(now: Instant) {
        let beat = ClusterEvent(index: lastIndex, type: "heartbeat", time: now, address: nil, fields: [:])
        var frames = EventFrames(beat)
        for (id, stream) in streams where !stream.sink.send(beat, frames: &frames) { streams[id] = nil }
    }

    private func keep(_ event: ClusterEvent) {
        let slot = Int(event.index % UInt64(Self.historyLimit))
        if let replaced = history[slot] { heldBytes -= replaced.line.count }
        history[slot] = event
        heldBytes += event.line.count
        nextIndex = event.index + 1
        oldestHeld = max(oldestHeld, oldestIndex)
        // The newest event is always held, however large.
        while heldBytes > Self.historyBytes && oldestHeld < event.index {
            let old = Int(oldestHeld % UInt64(Self.historyLimit))
            heldBytes -= history[old]?.line.count ?? 0
            history[old] = nil
            oldestHeld += 1
        }
    }

    /// Adds a stream, first writing what it missed after event `after` when it resumes:
    /// an `events_lost` event first when some of that is no longer held, or when
    /// `after` is past this node's last event (the node restarted and counts afresh).
    /// nil when the stream ended meanwhile (its client went, or the replay cut it).
    func open(_ sink: EventSink, filter: EventFilter, after: UInt64?, now: Instant) -> UInt64? {
        if let after {
            let wanted = after == .max ? after : after + 1
            let first = max(wanted, oldestIndex)
            if after > lastIndex || wanted < first {
                let reason =
                    after > lastIndex
                    ? "index \(after) is past this node's last event, \(lastIndex): it restarted; read the state again"
                    : "events before oldest_held are no longer held: read the state again"
                let lost = ClusterEvent(
                    index: min(first, nextIndex) - 1, type: "events_lost", time: now, address: nil,
                    fields: [
                        "after": .number(Double(after)), "oldest_held": .number(Double(oldestIndex)),
                        "reason": .string(reason),
                    ])
                var frames = EventFrames(lost)
                guard sink.send(lost, frames: &frames, replaying: true) else { return nil }
            }
            var next = first
            while next < nextIndex {
                if let event = history[Int(next % UInt64(Self.historyLimit))], filter.admits(event) {
                    var frames = EventFrames(event)
                    guard sink.send(event, frames: &frames, replaying: true) else { return nil }
                }
                next += 1
            }
        }
        guard sink.isOpen else { return nil }
        let id = nextStreamID
        nextStreamID += 1
        streams[id] = (filter, sink)
        return id
    }

    /// Forgets a stream whose client went away.
    func close(_ id: UInt64) {
        streams[id] = nil
    }

    /// Ends every stream (the node stops).
    func closeAll(reason: String, now: Instant) {
        let ending = streams.values.map(\.sink)
        streams = [:]
        for sink in ending { sink.finish(reason: reason, index: lastIndex, now: now) }
    }
}
