import Foundation
import Testing

/// A request that fails to parse is answered 400 and its connection closed at once, not
/// at the 60 s idle timeout (issue 13, item 3).
@Suite(.serialized) struct HTTPParseErrorTests {
    /// Sends `request` on a new connection; returns what came back and whether the agent
    /// closed the connection within `seconds`.
    private func exchange(_ request: [UInt8], port: Int, seconds: Int = 5) -> (answer: String, closed: Bool) {
        guard let connection = RawConnection(port: port) else { return ("", false) }
        connection.send(request)
        let (bytes, closed) = connection.readUntilClosed(seconds: Double(seconds))
        return (String(decoding: bytes, as: UTF8.self), closed)
    }

    @Test func malformedRequestsAreAnsweredAndTheirConnectionsClosed() async throws {
        let cluster = AgentCluster(size: 1)
        defer { cluster.stop() }
        let agent = cluster.agents[0]
        try agent.start(key: cluster.key)
        #expect(await eventually { agent.isHealthy }, "\(agent.logText)")
        let requests: [(String, [UInt8])] = [
            ("a malformed request line", Array("GARBAGE\r\n\r\n".utf8)),
            (
                "a bad Content-Length",
                Array("PUT /v1/metadata/a HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n".utf8)
            ),
            ("an HTTP/2 preface", Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)),
            ("a header without a colon", Array("GET /healthz HTTP/1.1\r\nHost x\r\n\r\n".utf8)),
        ]
        for (what, request) in requests {
            // Well inside the 60 s idle timeout that used to close these connections.
            let (answer, closed) = exchange(request, port: agent.httpPort, seconds: 15)
            #expect(answer.hasPrefix("HTTP/1.1 400"), "\(what): \(answer)")
            #expect(closed, "\(what): the connection stayed open")
        }
        // The agent still serves.
        #expect(agent.isHealthy)
    }

    @Test func aBodyRefusedAndThenMalformedHasOneAnswer() async throws {
        let cluster = AgentCluster(size: 1)
        defer { cluster.stop() }
        let agent = cluster.agents[0]
        try agent.start(key: cluster.key, extra: ["--max-body-bytes", "1024"])
        #expect(await eventually { agent.isHealthy }, "\(agent.logText)")
        // A chunk past the limit is answered 413; the malformed size line after it is
        // read while the rest is dropped, and must not be answered a second time.
        let request =
            "PUT /v1/metadata/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n"
            + String(repeating: "x", count: 2048) + "\r\nzz\r\n"
        let (answer, closed) = exchange(Array(request.utf8), port: agent.httpPort, seconds: 15)
        #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer)")
        #expect(answer.components(separatedBy: "HTTP/1.1 ").count == 2, "more than one answer: \(answer)")
        #expect(closed)
        #expect(agent.values("a").isEmpty)
    }
}
