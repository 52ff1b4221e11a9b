import Testing

@testable import HearsayCore

@Suite struct RenderingTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (Int64(951_782_400_123) * 1_000_000, "2000-02-29T00:00:00.123Z"),
        (Int64(1_800_000_000_000) * 1_000_000, "2027-01-15T08:00:00.000Z"),
        (Int64(-1) * 1_000_000, "1969-12-31T23:59:59.999Z"),
        (Int64(4_102_444_800_000) * 1_000_000, "2100-01-01T00:00:00.000Z"),
    ])
    func instantsPrintAsRFC3339(_ sample: (Int64, String)) {
        #expect(Instant(nanoseconds: sample.0).rfc3339 == sample.1)
    }

    @Test func prettyTextParsesBackToTheSameValue() throws {
        let value = try JSONValue.parse(#"{"b":[1,{"c":null}],"a":"x","e":[],"f":{}}"#)
        #expect(try JSONValue.parse(value.prettyText) == value)
        #expect(value.prettyText.contains("\n  \"a\": \"x\",\n"))
        #expect(value.prettyText.contains("\"e\": []"))
    }

    @Test func prettyTextIsSpelledExactly() throws {
        // Every kind of value, escapes and non-ASCII keys: what `curl` shows, byte for byte.
        let value = try JSONValue.parse(
            #"{"b":[1,2.5,"x\"y\n",true,null,[],{}],"a":{"\u00e9":"\u00fc\u0001"},"e":[],"f":{},"g":-3}"#)
        let expected = """
            {
              "a": {
                "\u{e9}": "\u{fc}\\u0001"
              },
              "b": [
                1,
                2.5,
                "x\\"y\\n",
                true,
                null,
                [],
                {}
              ],
              "e": [],
              "f": {},
              "g": -3
            }
            """
        #expect(value.prettyText == expected)
        #expect(value.prettyBytes(suffix: "\n") == Array((expected + "\n").utf8))
        #expect(JSONValue.string("plain").prettyText == #""plain""#)
    }

    @Test func aVersionRendersStraightToTheBytesOfItsJSON() {
        // The write's answer skips building `json`; it must spell the same bytes, for
        // every shape of version: empty and long lists, clocks out of order, escapes.
        var random = SeededGenerator(seed: 77)
        let names = ["b", "a", "node-\u{e9}", "z9", "c\"q"]
        func scalar(_ depth: Int) -> JSONValue {
            switch Int.random(in: 0..<(depth > 2 ? 4 : 6), using: &random) {
            case 0: .null
            case 1: .bool(Bool.random(using: &random))
            case 2: .number([0, -3, 2.5, 1e21, 123_456_789, -0.125].randomElement(using: &random)!)
            case 3: .string(["", "x", "tab\tquote\"", "\u{fc}\u{1}", "long text"].randomElement(using: &random)!)
            case 4: .array((0..<Int.random(in: 0...3, using: &random)).map { _ in scalar(depth + 1) })
            default:
                .object(
                    Dictionary(
                        (0..<Int.random(in: 0...3, using: &random)).map { _ in
                            (names.randomElement(using: &random)!, scalar(depth + 1))
                        }, uniquingKeysWith: { first, _ in first }))
            }
        }
        for round in 0..<300 {
            var clock: [NodeID: UInt64] = [:]
            for name in names.prefix(Int.random(in: 1...4, using: &random)) {
                clock[NodeID(unchecked: name)] = UInt64.random(in: 1...1_000_000, using: &random)
            }
            let list = { (0..<Int.random(in: 0...3, using: &random)).map { _ in names.randomElement(using: &random)! } }
            let value: JSONValue? = round % 7 == 0 ? nil : scalar(0)
            let version = ContextMetadata(
                address: MetadataAddress(unchecked: "app/key-\(round)"), value: value,
                status: value == nil ? .deleted : .active, roles: list(), replicationNodes: list(),
                vectorClock: VectorClock(clock), updatedBy: NodeID(unchecked: "a"),
                lastUpdated: Instant(nanoseconds: Int64(round) * 1_234_567_890_123))
            let expected = version.json.prettyBytes(suffix: "\n")
            #expect(version.prettyBytes(suffix: "\n") == expected)
            #expect(version.prettyBytes(value: value, suffix: "\n") == expected)
        }
    }

    @Test func messagesRenderWithTheSeedsFieldNames() {
        let sender = NodeID(unchecked: "node-1")
        let version = ContextMetadata(
            address: MetadataAddress(unchecked: "a/b"), value: .number(1), status: .active,
            vectorClock: VectorClock([sender: 2]),
            updatedBy: sender, lastUpdated: Instant(nanoseconds: 0))
        let message = GossipMessage(
            id: 7, sender: sender, timestamp: Instant(nanoseconds: 0), ttl: 3, payload: .contextUpdate(version),
            metadata: MessageMetadata(priority: .high))
        guard case .object(let fields) = message.json, case .object(let payload)? = fields["payload"],
            case .object(let metadata)? = fields["metadata"]
        else {
            Issue.record("not an object")
            return
        }
        #expect(
            Set(fields.keys) == [
                "message_id", "message_type", "sender_id", "timestamp", "ttl", "vector_clock", "payload", "metadata",
            ])
        #expect(fields["message_id"] == "node-1-7" && fields["message_type"] == "context_update")
        #expect(
            Set(metadata.keys) == [
                "priority", "reliability", "encrypted", "compressed", "original_size", "compression_type",
            ])
        #expect(metadata["priority"] == "high")
        #expect(
            Set(payload.keys) == [
                "address", "version", "last_updated", "updated_by", "roles", "size", "checksum", "replication_nodes",
                "vector_clock", "status", "value",
            ])
        #expect(payload["version"] == .number(2) && payload["checksum"] == .string(version.checksumText))
    }

    @Test func memberListDigestsRenderAsHexAndKind() {
        #expect(
            Payload.peerDiscovery(.digest(0xBEEF)).json == .object(["kind": "digest", "digest": "beef"]))
        #expect(Payload.peerDiscovery(.inSync).json == .object(["kind": "in_sync"]))
        #expect(
            Payload.peerDiscovery(.response(members: [])).json == .object(["kind": "response", "peers": .array([])]))
    }
}
