import Foundation
import HearsayCore
import HearsayNode
import Testing

/// `APIClient.stream` against a server on a raw socket that sends what an agent may: a
/// head followed at once by a long replay, in chunks of any size.
struct APIClientStreamTests {
    /// Serves one connection: reads the request's head, sends the first `split` bytes of
    /// `answer`, then after 200 ms the rest in one write, and closes.
    private func serveOnce(_ answer: [UInt8], split: Int) throws -> Int {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let port = FreePorts.take(1)[0]
        guard LoopbackAddress.with(port: port, { bind(listener, $0, $1) }) == 0, listen(listener, 1) == 0 else {
            close(listener)
            throw POSIXError(.EADDRINUSE)
        }
        let thread = Thread {
            defer { close(listener) }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            defer { close(connection) }
            var request: [UInt8] = []
            var byte: UInt8 = 0
            while !request.suffix(4).elementsEqual(Array("\r\n\r\n".utf8)), recv(connection, &byte, 1, 0) == 1 {
                request.append(byte)
            }
            var offset = 0
            while offset < answer.count {
                if offset == split { usleep(200_000) }
                let end = offset < split ? split : answer.count
                let sent = answer[offset..<end].withUnsafeBytes {
                    send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                guard sent > 0 else { return }
                offset += sent
            }
        }
        thread.start()
        return port
    }

    @Test func aHeadFollowedAtOnceByAReplayLongerThanOneReadIsReadWhole() throws {
        // 3,000 lines of 100 bytes in chunks of 30 lines, the status line apart: the read
        // after it brings the rest of the head and 64 KiB of the body together, as a
        // replay does on a loaded machine (it failed as "malformed HTTP answer").
        let line = String(repeating: "x", count: 99) + "\n"
        var answer = Array(
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        for _ in 0..<100 {
            let chunk = String(repeating: line, count: 30)
            answer += Array((String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n").utf8)
        }
        answer += Array("0\r\n\r\n".utf8)
        let port = try serveOnce(answer, split: "HTTP/1.1 200 OK\r\n".utf8.count)
        let client = APIClient(address: HostPort(host: "127.0.0.1", port: port))
        var lines = 0
        try client.stream("/v1/events") { text in
            #expect(text.count == 99)
            lines += 1
            return true
        }
        #expect(lines == 3_000)
    }
}
