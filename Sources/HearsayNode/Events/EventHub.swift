import HearsayCore

/// The node's event streams (`GET /v1/events`): the recent events, kept so that a
/// watcher that reconnects resumes where it stopped, and the streams that listen.
///
/// Bounded everywhere: the history holds the last `historyLimit` events and at most
/// `historyBytes` of them (values can be large); each stream holds at most
/// `EventSink.maxUnwrittenBytes` that its client has not read, and all streams together
/// `StreamBudget.capacity`, before a stream is cut with a final `stream_cut` event. An
/// event's bytes are rendered once and shared by every stream that writes them.
struct EventHub {
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
    /// What every stream's unread bytes count against.
    let budget = StreamBudget()

    /// The open streams.
    var count: Int { streams.count }

    /// The oldest event still held.
    private var oldestIndex: UInt64 {
        max(oldestHeld, nextIndex > UInt64(Self.historyLimit) ? nextIndex - UInt64(Self.historyLimit) : 1)
    }

    /// Records an event and writes it to every stream that wants it.
    mutating func publish(
        _ type: String, at time: Instant, address: MetadataAddress? = nil, _ fields: [String: JSONValue]
    ) {
        let event = ClusterEvent(index: nextIndex, type: type, time: time, address: address, fields: fields)
        keep(event)
        var frames = EventFrames(event)
        var gone: [UInt64] = []
        for (id, stream) in streams where stream.filter.admits(event) {
            if !stream.sink.send(event, frames: &frames) { gone.append(id) }
        }
        for id in gone { streams[id] = nil }
    }

    private mutating func keep(_ event: ClusterEvent) {
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

    /// Adds a stream, first writing what it missed since `index` when it resumes (an
    /// `events_lost` event first when some of that is no longer held).
    /// nil when the replay alone filled the stream (it was cut).
    mutating func open(_ sink: EventSink, filter: EventFilter, from index: UInt64?, now: Instant) -> UInt64? {
        if let index, index < nextIndex {
            let first = max(index, oldestIndex)
            if index < first {
                let lost = ClusterEvent(
                    index: first - 1, type: "events_lost", time: now, address: nil,
                    fields: [
                        "from": .number(Double(index)), "oldest_held": .number(Double(first)),
                        "reason": "events before oldest_held are no longer held: read the state again",
                    ])
                var frames = EventFrames(lost)
                _ = sink.send(lost, frames: &frames, replaying: true)
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
        let id = nextStreamID
        nextStreamID += 1
        streams[id] = (filter, sink)
        return id
    }

    /// Forgets a stream whose client went away.
    mutating func close(_ id: UInt64) {
        streams[id] = nil
    }

    /// Ends every stream (the node stops).
    mutating func closeAll(reason: String, now: Instant) {
        for stream in streams.values { stream.sink.finish(reason: reason, index: nextIndex - 1, now: now) }
        streams = [:]
    }
}
