import HearsayCore
import Logging
import Synchronization
import Testing

@testable import HearsayNode

@Suite struct LogHandlerTests {
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    @Test func jsonLinesCarryTimestampLevelLoggerMessageNodeAndFields() throws {
        let sink = Lines()
        var logger = Logger(label: "hearsay") { label in
            LineLogHandler(label: label, format: .json, level: .info, output: { sink.append($0) })
        }
        logger[metadataKey: "node"] = "n1"
        logger.info("member failed", metadata: ["event": "member_failed", "member": "n\"2"])
        logger.debug("not written")
        #expect(sink.all.count == 1)
        let line = try #require(sink.all.first)
        #expect(line.hasSuffix("}\n") && !line.dropLast().contains("\n"))
        guard case .object(let fields) = try JSONValue.parse(line) else {
            Issue.record("not an object")
            return
        }
        #expect(fields["level"] == .string("info"))
        #expect(fields["logger"] == .string("hearsay"))
        #expect(fields["msg"] == .string("member failed"))
        #expect(fields["node"] == .string("n1"))
        #expect(fields["event"] == .string("member_failed"))
        #expect(fields["member"] == .string("n\"2"))
        guard case .string(let ts)? = fields["ts"] else {
            Issue.record("no ts")
            return
        }
        // RFC 3339, UTC, milliseconds: 2026-11-26T01:02:03.456Z
        #expect(ts.count == 24 && ts.hasSuffix("Z") && ts.dropFirst(19).first == ".")
        #expect(line.hasPrefix("{\"ts\":"))
    }

    @Test func textLinesAreForPeople() {
        let sink = Lines()
        let logger = Logger(label: "hearsay") { label in
            LineLogHandler(label: label, format: .text, level: .debug, output: { sink.append($0) })
        }
        logger.warning("dropped", metadata: ["reason": "bad_signature"])
        let line = sink.all.first ?? ""
        #expect(line.contains("WARNING") && line.contains("dropped") && line.contains("reason=bad_signature"))
        // A value that could pass for more fields, or end the line, is quoted.
        logger.info("member tags changed", metadata: ["tags": "role=web level=error", "output": "a\nb", "empty": ""])
        let quoted = sink.all.last ?? ""
        #expect(quoted.contains(#"tags="role=web level=error""#), "\(quoted)")
        #expect(quoted.contains(#"output="a\nb""#) && quoted.contains(#"empty="""#), "\(quoted)")
        #expect(quoted.filter { $0 == "\n" }.count == 1)
    }
}
