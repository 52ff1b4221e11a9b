import HearsayCore
import Testing

@testable import HearsayNode

/// An event's line is canonical JSON holding every field, the value as given.
@Suite struct ClusterEventTests {
    @Test func aLineIsCanonicalJSONWithEveryField() throws {
        let time = Instant(nanoseconds: 1_764_000_000_123_000_000)
        let value = #"{"a":[1,"x\"y"],"b":null}"#
        let event = ClusterEvent(
            index: 42, type: "metadata_written", time: time, address: nil,
            fields: ["address": .string("svc/é\n"), "version": .number(7), "origin": .string("local")], value: value)
        let text = String(decoding: event.line, as: UTF8.self)
        let parsed = try JSONValue.parse(text)
        #expect(parsed.canonicalText == text, "the line is in canonical form")
        guard case .object(let fields) = parsed else {
            Issue.record("not an object: \(text)")
            return
        }
        #expect(fields["index"] == .number(42))
        #expect(fields["type"] == .string("metadata_written"))
        #expect(fields["time"] == .string(time.rfc3339))
        #expect(fields["address"] == .string("svc/é\n"))
        #expect(fields["value"] == (try JSONValue.parse(value)))
        #expect(fields.count == 7)
    }

    @Test func aWriteEventsLineIsTheOneTheGeneralRenderingMakes() throws {
        // `metadataChange` writes the line by hand, for speed: it must be the line the
        // general rendering makes of the same fields, for every kind of version.
        let time = Instant(nanoseconds: 1_764_000_000_123_000_000)
        let writer = NodeID(unchecked: "node-\"1\"")
        let values: [JSONValue?] = [nil, .object(["b": .array([.number(1.5), .null]), "a": .string("\u{1}é")])]
        for status in [MetadataStatus.active, .deprecated, .deleted] {
            for value in values {
                let version = ContextMetadata(
                    address: MetadataAddress(unchecked: "svc/a\\b"), value: status == .deleted ? nil : value,
                    status: status, vectorClock: VectorClock([writer: 3, NodeID(unchecked: "b"): 4]), updatedBy: writer,
                    lastUpdated: time)
                for local in [true, false] {
                    let fast = ClusterEvent.metadataChange(version, local: local, index: 9, time: time)
                    var fields: [String: JSONValue] = [
                        "address": .string(version.address.rawValue), "origin": .string(local ? "local" : "remote"),
                        "version": .number(Double(version.version)), "updated_by": .string(writer.rawValue),
                        "status": .string(status.rawValue),
                    ]
                    let deleted = status == .deleted
                    if !deleted, version.valueText == nil { fields["value"] = .null }
                    let general = ClusterEvent(
                        index: 9, type: deleted ? "metadata_deleted" : "metadata_written", time: time,
                        address: version.address, fields: fields, value: deleted ? nil : version.valueText)
                    #expect(
                        String(decoding: fast.line, as: UTF8.self) == String(decoding: general.line, as: UTF8.self))
                    #expect(fast.type == general.type && fast.address == general.address && fast.index == 9)
                }
            }
        }
    }
}
