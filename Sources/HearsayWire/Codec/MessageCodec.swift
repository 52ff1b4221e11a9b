import HearsayCore

/// Encodes and decodes the messages inside a frame (see `docs/wire.md`).
///
/// Encoding writes exactly `GossipMessage.wireSize` bytes a message; decoding checks
/// every field (lengths against the bytes left, ids and addresses against their rules,
/// enum bytes against known codes, each payload against its declared length) and throws
/// a `WireError` naming the field, never traps.
package enum MessageCodec {
    /// Longest address or host name accepted in a member record.
    static let maxPeerAddressBytes = 300

    // MARK: Compound bodies

    /// Encodes `messages` as a compound body: a count, then each message.
    package static func encodeBody(_ messages: [GossipMessage], into writer: inout ByteWriter) {
        writer.array(messages) { encode($1, into: &$0) }
    }

    /// Bytes of a compound body of `messages`.
    package static func bodySize(_ messages: [GossipMessage]) -> Int {
        messages.reduce(WireSize.varint(messages.count)) { $0 + $1.wireSize }
    }

    /// Decodes a compound body whose messages all come from `sender`; every byte must
    /// be used.
    package static func decodeBody(_ reader: inout ByteReader, sender: NodeID) throws(WireError) -> [GossipMessage] {
        var messages: [GossipMessage] = []
        reader.remember(sender: sender)
        try decodeBody(&reader, rememberedSender: sender, into: &messages)
        return messages
    }

    /// Decodes a compound body like `decodeBody(_:sender:)`, appending its messages to
    /// `messages`, whose buffer is used when it has room. `reader` must already remember
    /// `sender` (`ByteReader.remember(sender:)`).
    static func decodeBody(
        _ reader: inout ByteReader, rememberedSender sender: NodeID, into messages: inout [GossipMessage]
    ) throws(WireError) {
        let n = try reader.count("message count", minimumSize: 6)
        if n > 0 { messages.reserveCapacity(messages.count + n) }
        for _ in 0..<n { messages.append(try decode(&reader, sender: sender)) }
        guard reader.isAtEnd else { throw .decodeError("\(reader.remaining) bytes after the last message") }
    }

    // MARK: One message

    /// Encodes one message (its sender travels in the frame header).
    package static func encode(_ message: GossipMessage, into writer: inout ByteWriter) {
        writer.varint(message.id)
        writer.byte(message.type.wireCode)
        writer.zigzag(message.timestamp.milliseconds)
        writer.byte(message.ttl)
        clock(message.vectorClock, into: &writer)
        metadata(message.metadata, into: &writer)
        let size = message.payload.wireSize
        writer.varint(size)
        let start = writer.bytes.count
        payload(message.payload, into: &writer)
        assert(writer.bytes.count - start == size, "payload of \(message.type) wrote a length other than its wireSize")
    }

    /// Decodes one message sent by `sender`.
    package static func decode(_ reader: inout ByteReader, sender: NodeID) throws(WireError) -> GossipMessage {
        let id = try reader.varint("message id")
        let code = try reader.byte("message type")
        guard let type = GossipMessageType(wireCode: code) else { throw .unknownType("message type \(code)") }
        let timestamp = try instant(&reader, "timestamp")
        let ttl = try reader.byte("ttl")
        let clock = try clock(&reader)
        let metadata = try metadata(&reader)
        let length = try reader.count("payload length")
        // `count` checked that the payload's bytes are there; `payload` checks that its
        // content ends exactly where its length says.
        let payload = try payload(type, &reader, end: reader.offset + length)
        return GossipMessage(
            id: id, sender: sender, timestamp: timestamp, ttl: ttl, vectorClock: clock, payload: payload,
            metadata: metadata)
    }

    // MARK: Envelope fields

    static func clock(_ clock: VectorClock, into writer: inout ByteWriter) {
        writer.array(clock.entries) { writer, entry in
            writer.string(entry.node.rawValue)
            writer.varint(entry.counter)
        }
    }

    static func clock(_ reader: inout ByteReader) throws(WireError) -> VectorClock {
        var key: ClockTable.Key?
        // Checked here, so that a reader without a table (a body decoded alone) and the
        // empty clock of most messages pay no call.
        if reader.clocks.keepsAny, reader.nextByte != 0 {
            let (repeated, newKey) = reader.repeatedClock()
            if let repeated { return repeated }
            key = newKey
        }
        let entries = try reader.array("vector clock size", minimumSize: 3) { reader throws(WireError) in
            let node = try nodeID(&reader, "vector clock node")
            return VectorClock.Entry(node: node, counter: try reader.varint("vector clock counter"))
        }
        let clock = VectorClock(entries: entries)
        if let key { reader.clocks.store(clock, for: key) }
        return clock
    }

    static func metadata(_ metadata: MessageMetadata, into writer: inout ByteWriter) {
        var flags: UInt8 = 0
        if metadata.reliability { flags |= 1 }
        if metadata.encrypted { flags |= 2 }
        if metadata.compressed { flags |= 4 }
        writer.byte(flags)
        writer.byte(metadata.priority.wireCode)
        writer.varint(metadata.originalSize)
        writer.optional(metadata.compressionType) { $0.string($1) }
    }

    static func metadata(_ reader: inout ByteReader) throws(WireError) -> MessageMetadata {
        let flags = try reader.byte("metadata flags")
        guard flags & ~7 == 0 else { throw .decodeError("unknown metadata flags \(flags)") }
        let code = try reader.byte("priority")
        guard let priority = Priority(wireCode: code) else { throw .decodeError("unknown priority \(code)") }
        let originalSize = try reader.int("original size")
        let compressionType = try reader.optional("compression type") { reader throws(WireError) in
            try reader.string("compression type", maxBytes: 32)
        }
        return MessageMetadata(
            priority: priority, reliability: flags & 1 != 0, encrypted: flags & 2 != 0, compressed: flags & 4 != 0,
            originalSize: originalSize, compressionType: compressionType)
    }

    // MARK: Shared field readers

    static func instant(_ reader: inout ByteReader, _ what: String) throws(WireError) -> Instant {
        let ms = try reader.zigzag(what)
        // Milliseconds beyond ±292 years from 1970 do not fit nanoseconds in an Int64.
        // `magnitude`, not `abs`: abs(Int64.min) traps, and a zigzag varint can spell it.
        guard ms.magnitude < UInt64(Int64.max / 1_000_000) else { throw .decodeError("\(what) out of range") }
        return Instant(nanoseconds: ms * 1_000_000)
    }

    static func nodeID(_ reader: inout ByteReader, _ what: String) throws(WireError) -> NodeID {
        if let name = reader.repeatedName() { return name }
        let (text, conforms) = try reader.token(what, maxBytes: NodeID.maxLength, allowing: ByteRule.isNodeIDByte)
        if conforms {
            let name = NodeID(unchecked: text)
            reader.remember(name)
            return name
        }
        do {
            return try NodeID(text)
        } catch {
            throw .decodeError("\(what): \(error)")
        }
    }

    static func peerAddress(_ reader: inout ByteReader, _ what: String) throws(WireError) -> PeerAddress {
        let (text, conforms) = try reader.token(what, maxBytes: maxPeerAddressBytes, allowing: ByteRule.isNodeIDByte)
        guard conforms else { throw .decodeError("\(what) is empty or not printable ASCII") }
        return PeerAddress(text)
    }

    static func metadataAddress(_ reader: inout ByteReader, _ what: String) throws(WireError) -> MetadataAddress {
        let (repeated, slot) = reader.repeatedAddress()
        if let repeated { return repeated }
        let (text, conforms) = try reader.token(
            what, maxBytes: MetadataAddress.maxLength, allowing: ByteRule.isMetadataAddressByte)
        if conforms {
            let address = MetadataAddress(unchecked: text)
            if let slot { reader.addresses.store(address, in: slot) }
            return address
        }
        do {
            return try MetadataAddress(text)
        } catch {
            throw .decodeError("\(what): \(error)")
        }
    }
}
