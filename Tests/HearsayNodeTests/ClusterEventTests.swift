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
}
