/// One protocol message: the Go original's envelope around a typed payload.
public struct GossipMessage: Hashable, Sendable {
    /// Unique per sender: a counter that starts from the sender's wall clock at start-up
    /// in microseconds, so it stays unique across restarts. It names the message in logs
    /// and `hearsay decode`; replay protection numbers frames, not messages.
    public var id: UInt64
    /// Who created the message.
    public var sender: NodeID
    /// When the sender created it, to the millisecond.
    public var timestamp: Instant
    /// Relay hops left: a node relays a rumor only while ttl > 1.
    public var ttl: UInt8
    /// The vector clock the message is about (the version's clock for `context_update`),
    /// empty for messages that concern no entry.
    public var vectorClock: VectorClock
    /// What the message says.
    public var payload: Payload
    /// Priority, reliability and the wire flags.
    public var metadata: MessageMetadata

    /// Creates a message.
    public init(
        id: UInt64, sender: NodeID, timestamp: Instant, ttl: UInt8, vectorClock: VectorClock = .init(),
        payload: Payload, metadata: MessageMetadata
    ) {
        self.id = id
        self.sender = sender
        self.timestamp = timestamp
        self.ttl = ttl
        self.vectorClock = vectorClock
        self.payload = payload
        self.metadata = metadata
    }

    /// The Go original's message type, given by the payload.
    public var type: GossipMessageType { payload.type }

    /// The Go original's `message_id`: sender and counter.
    public var messageID: String { "\(sender.rawValue)-\(id)" }

    /// Encoded length inside a frame (the sender is written once per frame): id, type,
    /// timestamp in ms, ttl, vector clock, metadata, payload length and payload.
    package var wireSize: Int {
        let body = payload.wireSize
        return WireSize.varint(id) + 1 + WireSize.zigzag(timestamp.milliseconds) + 1
            + vectorClock.wireSize + metadata.wireSize + WireSize.varint(body) + body
    }
}
