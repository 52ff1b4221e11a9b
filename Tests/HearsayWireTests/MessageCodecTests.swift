import HearsayCore
import Testing

@testable import HearsayWire

@Suite struct MessageCodecTests {
    private let sender = NodeID(unchecked: "node-sender")

    @Test(arguments: GossipMessageType.allCases)
    func everyTypeRoundTripsAtExactlyItsWireSize(_ type: GossipMessageType) throws {
        var samples = MessageSamples(seed: UInt64(type.wireCode))
        for _ in 0..<200 {
            let message = samples.message(type, sender: sender)
            var writer = ByteWriter()
            MessageCodec.encode(message, into: &writer)
            #expect(writer.bytes.count == message.wireSize)
            var reader = ByteReader(writer.bytes)
            let decoded = try MessageCodec.decode(&reader, sender: sender)
            #expect(reader.isAtEnd)
            #expect(decoded == message)
        }
    }

    @Test func decodedVersionsKeepTheirChecksums() throws {
        var samples = MessageSamples(seed: 9)
        for _ in 0..<100 {
            let message = samples.message(.contextUpdate, sender: sender)
            var writer = ByteWriter()
            MessageCodec.encode(message, into: &writer)
            var reader = ByteReader(writer.bytes)
            guard case .contextUpdate(let v) = try MessageCodec.decode(&reader, sender: sender).payload else {
                Issue.record("wrong payload")
                continue
            }
            #expect(v.hasValidChecksum)
        }
    }

    @Test func aCompoundBodyCarriesMessagesOfEveryType() throws {
        var samples = MessageSamples(seed: 4)
        let messages = GossipMessageType.allCases.map { samples.message($0, sender: sender) }
        var writer = ByteWriter()
        MessageCodec.encodeBody(messages, into: &writer)
        #expect(writer.bytes.count == MessageCodec.bodySize(messages))
        var reader = ByteReader(writer.bytes)
        #expect(try MessageCodec.decodeBody(&reader, sender: sender) == messages)
    }

    @Test func everyTruncationIsRejectedWithAnError() {
        var samples = MessageSamples(seed: 5)
        let messages = GossipMessageType.allCases.map { samples.message($0, sender: sender) }
        var writer = ByteWriter()
        MessageCodec.encodeBody(messages, into: &writer)
        let bytes = writer.bytes
        for length in 0..<bytes.count {
            var reader = ByteReader(Array(bytes[0..<length]))
            #expect(throws: WireError.self) { try MessageCodec.decodeBody(&reader, sender: sender) }
        }
    }

    @Test func trailingBytesAndUnknownCodesAreRejected() {
        var samples = MessageSamples(seed: 6)
        var writer = ByteWriter()
        MessageCodec.encodeBody([samples.message(.healthCheck, sender: sender)], into: &writer)
        var extra = ByteReader(writer.bytes + [0])
        #expect(throws: WireError.self) { try MessageCodec.decodeBody(&extra, sender: sender) }
        var unknown = writer.bytes
        // Byte 0 is the count, then the id varint; find the type byte after it.
        var probe = ByteReader(unknown)
        _ = try? probe.varint()
        _ = try? probe.varint()
        unknown[probe.offset] = 99
        var reader = ByteReader(unknown)
        #expect(throws: WireError.unknownType("message type 99")) {
            try MessageCodec.decodeBody(&reader, sender: sender)
        }
    }

    @Test func hugeCountsFailBeforeAllocating() {
        // A count of 2^62 messages in a 12-byte body must fail at once.
        var writer = ByteWriter()
        writer.varint(UInt64(1) << 62)
        writer.raw([UInt8](repeating: 0, count: 8))
        var reader = ByteReader(writer.bytes)
        #expect(throws: WireError.self) { try MessageCodec.decodeBody(&reader, sender: sender) }
    }

    @Test func randomBytesNeverCrashTheDecoder() {
        var random = SeededGenerator(seed: 77)
        var valid = 0
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...80, using: &random)).map { _ in
                UInt8.random(in: 0...255, using: &random)
            }
            var reader = ByteReader(bytes)
            if (try? MessageCodec.decodeBody(&reader, sender: sender)) != nil { valid += 1 }
        }
        #expect(valid < 20_000)
    }

    @Test func varintsUseTheShortestFormAndRejectOverlongOnes() throws {
        for value: UInt64 in [0, 1, 127, 128, 16_383, 16_384, UInt64.max] {
            var w = ByteWriter()
            w.varint(value)
            #expect(w.bytes.count == WireSize.varint(value))
            var r = ByteReader(w.bytes)
            #expect(try r.varint() == value)
        }
        for value: Int64 in [0, -1, 1, Int64.min, Int64.max] {
            var w = ByteWriter()
            w.zigzag(value)
            #expect(w.bytes.count == WireSize.zigzag(value))
            var r = ByteReader(w.bytes)
            #expect(try r.zigzag() == value)
        }
        var r = ByteReader([UInt8](repeating: 0xFF, count: 11))
        #expect(throws: WireError.self) { try r.varint() }
    }
}
