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

    @Test func theMostNegativeTimestampIsRefusedNotTrapped() {
        // Found by the fuzzer: ten 0xFF-ish bytes spell Int64.min, on which abs() traps.
        for ms in [Int64.min, Int64.max, Int64.min + 1] {
            var writer = ByteWriter()
            writer.zigzag(ms)
            var reader = ByteReader(writer.bytes)
            #expect(throws: WireError.decodeError("timestamp out of range")) {
                try MessageCodec.instant(&reader, "timestamp")
            }
        }
    }

    @Test func receivedNamesAndAddressesFollowTheCoreRules() {
        // The decoder checks names and addresses on the frame's bytes as it copies them
        // (`ByteRule`); whatever it takes, the core's validation must take, and the other way.
        for byte in UInt8.min...UInt8.max {
            let bytes = [UInt8(ascii: "a"), byte, UInt8(ascii: "b")]
            var writer = ByteWriter()
            writer.varint(bytes.count)
            writer.raw(bytes)
            let text = String(decoding: bytes, as: UTF8.self)
            var names = ByteReader(writer.bytes)
            let name = try? MessageCodec.nodeID(&names, "name")
            #expect((name != nil) == ((try? NodeID(text)) != nil), "node id byte \(byte)")
            #expect((name != nil) == (byte > 0x20 && byte < 0x7F), "node id byte \(byte)")
            var addresses = ByteReader(writer.bytes)
            let address = try? MessageCodec.metadataAddress(&addresses, "address")
            #expect((address != nil) == MetadataAddress.isValid(text), "address byte \(byte)")
        }
    }

    @Test func namesThatBreakTheRulesAreRejectedAsBefore() throws {
        func decodeVersion(address: String, writer name: String) throws(WireError) -> ContextMetadata {
            var writer = ByteWriter()
            writer.string(address)
            writer.zigzag(0)
            writer.string(name)
            writer.varint(0)
            writer.varint(0)
            writer.varint(0)
            writer.byte(0)
            writer.fixed64(0)
            writer.byte(0)
            var reader = ByteReader(writer.bytes)
            return try MessageCodec.version(&reader)
        }
        #expect(throws: WireError.self) { try decodeVersion(address: "a b", writer: "n") }
        #expect(throws: WireError.self) { try decodeVersion(address: "", writer: "n") }
        #expect(throws: WireError.self) { try decodeVersion(address: "app/x", writer: "") }
        #expect(throws: WireError.self) { try decodeVersion(address: "app/x", writer: "n\u{7F}") }
        #expect(throws: WireError.self) { try decodeVersion(address: "app/x", writer: "nœ") }
        #expect(throws: WireError.self) { try decodeVersion(address: "app/é", writer: "n") }
        // The same name twice in a row (the second recognised, not rebuilt) and a third.
        let version = try decodeVersion(address: "app/x", writer: "writer")
        #expect(version.updatedBy.rawValue == "writer")
        var writer = ByteWriter()
        for name in ["node-a", "node-a", "node-b", "node-a"] { writer.string(name) }
        var reader = ByteReader(writer.bytes)
        reader.remember(sender: NodeID(unchecked: "node-b"))
        for name in ["node-a", "node-a", "node-b", "node-a"] {
            #expect(try MessageCodec.nodeID(&reader, "name").rawValue == name)
        }
        #expect(reader.isAtEnd)
    }

    // Remembered names of up to sixteen bytes are compared as two words loaded from the
    // buffer, with the bytes past the name masked off: a name that differs from one
    // remembered only in its last byte, or only in length, must not pass for it, whatever
    // follows it, and near the end of the buffer the byte-wise comparison takes over.
    @Test func rememberedNamesAreRecognisedOnlyWhenEveryByteMatches() throws {
        for length in 1...20 {
            let name = String((0..<length).map { Character(UnicodeScalar(UInt8(0x61 + $0 % 26))) })
            let lastDiffers = String(name.dropLast()) + "#"
            let shorter = String(name.dropLast())
            let longer = name + "z"
            let names = [name, lastDiffers, name, longer, name, shorter, name, name].filter { !$0.isEmpty }
            for tail in [0, 1, 7, 16, 20] {
                for filler: UInt8 in [0x00, 0x7A, 0xFF] {
                    var writer = ByteWriter()
                    for text in names { writer.string(text) }
                    writer.raw([UInt8](repeating: filler, count: tail))
                    var reader = ByteReader(writer.bytes, range: 0..<writer.bytes.count - tail)
                    reader.remember(sender: NodeID(unchecked: name))
                    for text in names {
                        #expect(try MessageCodec.nodeID(&reader, "name").rawValue == text, "\(length) \(tail)")
                    }
                    #expect(reader.isAtEnd)
                }
            }
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

    @Test func aMalformedTagIsADecodeErrorNotACapability() throws {
        for strings in [["tag:role"], ["tag:a=1", "tag:a=2"], ["tag:bad key=1"]] {
            let rumor = MemberRumor(
                subject: sender, address: PeerAddress("10.0.0.1:7946"), incarnation: 1, status: .alive,
                heartbeat: NodeHeartbeat(version: "1", capabilities: strings))
            var writer = ByteWriter()
            MessageCodec.rumor(rumor, into: &writer)
            var reader = ByteReader(writer.bytes)
            #expect(throws: WireError.decodeError("malformed tags")) { try MessageCodec.rumor(&reader) }
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

    /// Bodies of random bytes, and valid bodies with a byte changed or cut short, must
    /// fail with an error, not a trap; those that still decode must mean what they say:
    /// encoded again and decoded, the same messages.
    @Test func damagedBodiesNeverCrashTheDecoderAndWhatDecodesRoundTrips() throws {
        var random = SeededGenerator(seed: 77)
        var samples = MessageSamples(seed: 77)
        var decoded = 0
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0...80, using: &random)).map { _ in
                    UInt8.random(in: 0...255, using: &random)
                }
            } else {
                let type = GossipMessageType.allCases.randomElement(using: &random)!
                var writer = ByteWriter()
                MessageCodec.encodeBody([samples.message(type, sender: sender)], into: &writer)
                bytes = writer.bytes
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                if Bool.random(using: &random) { bytes.removeLast(Int.random(in: 0..<bytes.count, using: &random)) }
            }
            var reader = ByteReader(bytes)
            guard let messages = try? MessageCodec.decodeBody(&reader, sender: sender) else { continue }
            decoded += 1
            var writer = ByteWriter()
            MessageCodec.encodeBody(messages, into: &writer)
            var again = ByteReader(writer.bytes)
            #expect(try MessageCodec.decodeBody(&again, sender: sender) == messages, "\(bytes)")
        }
        // A changed byte inside a value or a name still decodes, so the check above runs.
        #expect(decoded > 100)
    }

    // The frame codec lends each frame's reader a table of the addresses of 16 to 127 bytes
    // it received lately. A repeat is taken from the table; another address in the same
    // slot (a table of two slots, and addresses equal in the bytes the slot is chosen by)
    // is read and checked as without the table, and one that fails its check is refused
    // with the same error.
    @Test func addressesFromTheTableDecodeAsWithoutIt() throws {
        let texts = [
            "ucxl://agent/ctx", "ucxl://agent/ct", "ucxl://aAAAAAAAmmmmmmmmBBBBBBBBzzzzzzzz",
            "ucxl://aCCCCCCCmmmmmmmmBBBBBBBBzzzzzzzz", "ucxl://aAAAAAAAmmmmmmmmBBBBBBBBzzzzzzz%",
            String(repeating: "a", count: 127), String(repeating: "a", count: 128), "ucxl://agent/ctx with space",
            "ucxl://agent/ctx\u{E9}t\u{E9}", "ucxl://aAAAAAAAmmmmmmmmBBBBBBBB\u{1}zzzzzzz", "ucxl://agent/ctx",
        ]
        func encoded(_ text: String) -> [UInt8] {
            var writer = ByteWriter()
            writer.string(text)
            writer.byte(0x2A)
            return writer.bytes
        }
        var table = AddressTable(slotCount: 2)
        for _ in 0..<3 {
            for text in texts {
                var plain = ByteReader(encoded(text))
                let expected = Result { () throws(WireError) in try MessageCodec.metadataAddress(&plain, "address") }
                var reader = ByteReader(encoded(text))
                swap(&reader.addresses, &table)
                let decoded = Result { () throws(WireError) in try MessageCodec.metadataAddress(&reader, "address") }
                swap(&reader.addresses, &table)
                #expect(decoded == expected, "\(text)")
                if case .success = decoded { #expect(reader.remaining == 1, "\(text)") }
            }
        }
        // The last address read is in the table, to be found on its bytes next time.
        Array("ucxl://agent/ctx".utf8).withUnsafeBytes { run in
            let slot = table.slot(for: run)
            #expect(slot.flatMap { table.address(in: $0, spelled: run) }?.rawValue == "ucxl://agent/ctx")
        }
    }

    // The frame codec also lends a table of the clocks it decoded lately, found again by
    // their encoding. Whatever the bytes (repeats, slots shared in a two-slot table, clocks
    // out of order or with a zero counter, padded counters, names too long to keep, clocks
    // cut short by the end of the reader's range while the array goes on), a reader with
    // the table must decode what one without it decodes, or fail with the same error.
    @Test func clocksFromTheTableDecodeAsWithoutIt() throws {
        func entries(_ pairs: [(String, [UInt8])]) -> [UInt8] {
            var writer = ByteWriter()
            writer.varint(UInt64(pairs.count))
            for (name, counter) in pairs {
                writer.string(name)
                writer.raw(counter)
            }
            return writer.bytes
        }
        let encodings: [[UInt8]] = [
            entries([("node-bench", [1])]), entries([("node-bench", [2])]), entries([("node-bench", [0x81, 0x01])]),
            entries([("node-bench", [0x80, 0x01])]), entries([("node-a", [1]), ("node-b", [7])]),
            entries([("node-b", [1]), ("node-a", [7])]), entries([("node-a", [1]), ("node-a", [7])]),
            entries([("node-a", [0])]), entries([("node-a", [1]), ("node-b", [0])]),
            entries([(String(repeating: "n", count: 29), [1])]), entries([(String(repeating: "n", count: 30), [1])]),
            entries([("node bench", [1])]), entries([("node-\u{E9}", [1])]), entries([("", [1])]),
            entries([("node-bench", [1])]), [0], [1], [1, 3], [2, 1, 0x61, 1], [0x80, 1],
        ]
        var table = ClockTable(slotCount: 2)
        for _ in 0..<3 {
            for encoding in encodings {
                for cut in [encoding.count, encoding.count - 1, 1] where cut >= 1 && cut <= encoding.count {
                    // The array goes on past the reader's range, as a frame's HMAC does.
                    let bytes = Array(encoding[0..<cut]) + [0x2A] + [UInt8](repeating: 0x80, count: 40)
                    var plain = ByteReader(bytes, range: 0..<cut + 1)
                    let expected = Result { () throws(WireError) in try MessageCodec.clock(&plain) }
                    var reader = ByteReader(bytes, range: 0..<cut + 1)
                    swap(&reader.clocks, &table)
                    let decoded = Result { () throws(WireError) in try MessageCodec.clock(&reader) }
                    swap(&reader.clocks, &table)
                    #expect(decoded == expected, "\(encoding) cut at \(cut)")
                    #expect(reader.offset == plain.offset, "\(encoding) cut at \(cut)")
                }
            }
        }
        // The last clock decoded is in the table, to be found on its bytes next time.
        var reader = ByteReader(encodings[14] + [UInt8](repeating: 0, count: 40))
        swap(&reader.clocks, &table)
        let (repeated, _) = reader.repeatedClock()
        #expect(repeated == VectorClock([NodeID(unchecked: "node-bench"): 1]))
        #expect(reader.offset == encodings[14].count)
    }

    @Test func varintsAreWrittenShortestAndReadAlikeInOneLoadOrByteByByte() throws {
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
        // Followed by other bytes, as inside a frame, varints of up to eight bytes are read
        // in one load; every length must read the same value and stop at the same byte,
        // whatever the bytes after it (with or without their continuation bit).
        for filler: UInt8 in [0xFF, 0x00, 0x7F, 0x80] {
            for shift in 0..<64 {
                for value: UInt64 in [1 << shift, (1 << shift) - 1, (1 << shift) | 0x55, UInt64.max >> shift] {
                    var w = ByteWriter()
                    w.varint(value)
                    w.raw([UInt8](repeating: filler, count: 9))
                    var r = ByteReader(w.bytes)
                    #expect(try r.varint() == value)
                    #expect(r.remaining == 9)
                }
            }
        }
        // Padded forms (a continuation byte of zero bits before the last) are read as the
        // byte-by-byte loop reads them, in one load or not.
        for padded: [UInt8] in [
            [0x80, 0x00], [0x81, 0x80, 0x80, 0x00], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
        ] {
            var expected: UInt64 = 0
            for (index, byte) in padded.enumerated() { expected |= UInt64(byte & 0x7F) << UInt64(7 * index) }
            for tail in [0, 9] {
                var r = ByteReader(padded + [UInt8](repeating: 0xFF, count: tail))
                #expect(try r.varint() == expected)
                #expect(r.remaining == tail)
            }
        }
    }

    // Strings are decoded by letting the standard library repair them and refusing any
    // that came out different; a truncated four-byte sequence (F0 90 80) is repaired to
    // one three-byte replacement character, so only the bytes, not the length, tell.
    @Test func stringsMustBeValidUTF8EvenWhenARepairWouldKeepTheirLength() throws {
        let valid: [[UInt8]] = [
            [], Array("plain".utf8), Array("caf\u{E9} \u{1F600}".utf8), [0xEF, 0xBF, 0xBD],
            Array(String(repeating: "\u{E9}", count: 300).utf8),
        ]
        for bytes in valid {
            var w = ByteWriter()
            w.varint(UInt64(bytes.count))
            w.raw(bytes)
            var r = ByteReader(w.bytes)
            #expect(Array(try r.string("text").utf8) == bytes)
        }
        let invalid: [[UInt8]] = [
            [0xF0, 0x90, 0x80], [0x80], [0xC3], [0xED, 0xA0, 0x80], [0xFF, 0xFE],
            Array(String(repeating: "a", count: 100).utf8) + [0xF0, 0x90, 0x80],
        ]
        for bytes in invalid {
            var w = ByteWriter()
            w.varint(UInt64(bytes.count))
            w.raw(bytes)
            var r = ByteReader(w.bytes)
            #expect(throws: WireError.self) { try r.string("text") }
        }
    }
}
