import Foundation
import Testing

/// A request that fails to parse is answered 400 and its connection closed at once, not
/// at the 60 s idle timeout (issue 13, item 3).
@Suite(.serialized) struct HTTPParseErrorTests {
    /// Sends `request` on a new connection; returns what came back and whether the agent
    /// closed the connection within `seconds`.
    private func exchange(_ request: [UInt8], port: Int, seconds: Int = 5) -> (answer: String, closed: Bool) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = LoopbackAddress.with(port: port) { connect(fd, $0, $1) }
        guard connected == 0 else { return ("", false) }
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received += buffer[..<count]
            } else {
                // 0: the agent closed; -1: the timeout passed with the connection open.
                return (String(decoding: received, as: UTF8.self), count == 0)
            }
        }
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
}
