import HearsayCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A small blocking HTTP/1.1 client for the node's API, used by the CLI's client
/// commands and by the tests: one connection per request, `Connection: close`.
package struct APIClient: Sendable {
    /// The agent's HTTP address.
    package var address: HostPort
    /// The bearer token for mutating calls.
    package var token: String?
    /// Give up on a connect, send or receive after this long.
    package var timeout: Duration = .seconds(10)

    /// A client for the agent at `address`.
    package init(address: HostPort, token: String? = nil) {
        self.address = address
        self.token = token
    }

    /// An answer: status code and body.
    package struct Response: Sendable {
        package var status: Int
        package var body: [UInt8]
        /// The header fields, as received.
        package var headers: [(name: String, value: String)] = []
        /// The first header named `name` (in any case).
        package func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
        /// The body as text.
        package var text: String { String(decoding: body, as: UTF8.self) }
        /// The body parsed as JSON, nil when it is not JSON.
        package var json: JSONValue? { try? JSONValue.parse(bytes: body) }
    }

    /// Why a request got no answer.
    package struct Failure: Error, CustomStringConvertible, Sendable {
        package let description: String
        /// The HTTP status of an answer that was not a success, when there was one.
        package var status: Int? = nil
    }

    /// Sends `method path` with an optional body and reads the whole answer.
    package func request(_ method: String, _ path: String, body: [UInt8]? = nil) throws(Failure) -> Response {
        let fd = try connect()
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(address)\r\nConnection: close\r\nUser-Agent: hearsay\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        let bytes = Array((head + "\r\n").utf8) + (body ?? [])
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: "cannot send to \(address): \(Self.lastError())") }
            sent += n
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw Failure(description: "no answer from \(address): \(Self.lastError())") }
            if n == 0 { break }
            received += chunk[0..<n]
            if received.count > 256 * 1024 * 1024 { throw Failure(description: "answer too large") }
        }
        return try Self.parse(received)
    }

    /// Sends `GET path` and hands `line` each line of the streamed answer as it arrives
    /// (`GET /v1/events`), until the agent ends the stream or `line` returns false. An
    /// agent sends a heartbeat every 30 s: `idle` without a byte is a failure, as is a
    /// non-2xx answer (with its status).
    package func stream(_ path: String, idle: Duration = .seconds(90), line: (String) -> Bool) throws(Failure) {
        let fd = try connect()
        defer { close(fd) }
        var wait = timeval(tv_sec: Int(idle.components.seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        var head = "GET \(path) HTTP/1.1\r\nHost: \(address)\r\nConnection: close\r\nUser-Agent: hearsay\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        let request = Array((head + "\r\n").utf8)
        let sent = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == request.count else {
            throw Failure(description: "cannot send to \(address): \(Self.lastError())")
        }
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        func receive() throws(Failure) -> Bool {
            while true {
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n < 0 && errno == EINTR { continue }
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                    throw Failure(
                        description: "the stream from \(address) sent nothing for \(idle.components.seconds) s")
                }
                if n < 0 { throw Failure(description: "the stream from \(address) failed: \(Self.lastError())") }
                if n == 0 { return false }
                pending += chunk[0..<n]
                return true
            }
        }
        // The head, then the chunks of the body, then its lines.
        var headEnd: Int?
        while headEnd == nil {
            headEnd = pending.indices.dropLast(3).first {
                pending[$0] == 13 && pending[$0 + 1] == 10 && pending[$0 + 2] == 13 && pending[$0 + 3] == 10
            }
            if headEnd == nil {
                // Checked before reading more: one read can bring the head and 64 KiB
                // of a replay after it.
                guard pending.count < 64 * 1024 else { throw Failure(description: "malformed HTTP answer") }
                guard try receive() else { throw Failure(description: "the agent closed the stream before its head") }
            }
        }
        let statusLine = String(decoding: pending[..<headEnd!], as: UTF8.self).split(separator: "\r\n").first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else {
            throw Failure(description: "malformed HTTP status line: \(statusLine)")
        }
        pending.removeFirst(headEnd! + 4)
        guard (200..<300).contains(status) else {
            while try receive() {}
            throw Failure(description: "HTTP \(status): \(String(decoding: pending, as: UTF8.self))", status: status)
        }
        // Read positions, not removals: dropping a consumed prefix of a buffer holding a
        // replay of megabytes, one chunk at a time, was quadratic.
        var read = 0
        var text: [UInt8] = []
        var scanned = 0
        while true {
            if read > 65_536 && read * 2 > pending.count {
                pending.removeFirst(read)
                read = 0
            }
            // One chunk: its size line, its bytes, and CRLF.
            guard let lineEnd = pending[read...].firstIndex(of: 13), lineEnd + 1 < pending.count else {
                guard try receive() else { return }
                continue
            }
            let sizeText = String(decoding: pending[read..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(String(sizeText).trimmingSpaces, radix: 16), (0...(64 << 20)).contains(size) else {
                throw Failure(description: "malformed chunk size '\(sizeText)'")
            }
            if size == 0 { return }
            let start = lineEnd + 2
            while pending.count < start + size + 2 {
                guard try receive() else { throw Failure(description: "the stream ended inside a chunk") }
            }
            text += pending[start..<(start + size)]
            read = start + size + 2
            var lineStart = 0
            while let newline = text[scanned...].firstIndex(of: 10) {
                let one = String(decoding: text[lineStart..<newline], as: UTF8.self)
                lineStart = newline + 1
                scanned = lineStart
                if !one.isEmpty, !line(one) { return }
            }
            text.removeFirst(lineStart)
            scanned = text.count
        }
    }

    static func parse(_ bytes: [UInt8]) throws(Failure) -> Response {
        guard
            let end = bytes.indices.dropLast(3).first(where: {
                bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10
            })
        else {
            throw Failure(description: "malformed HTTP answer (\(bytes.count) bytes)")
        }
        let head = String(decoding: bytes[..<end], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        let statusLine = lines.first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else {
            throw Failure(description: "malformed HTTP status line: \(statusLine)")
        }
        let chunked = lines.dropFirst().contains {
            $0.lowercased().hasPrefix("transfer-encoding:") && $0.lowercased().contains("chunked")
        }
        let body = Array(bytes[(end + 4)...])
        let headers = lines.dropFirst().compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingSpaces)
        }
        return Response(status: status, body: chunked ? try dechunk(body) : body, headers: headers)
    }

    /// The payload of a `Transfer-Encoding: chunked` body.
    static func dechunk(_ body: [UInt8]) throws(Failure) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while true {
            guard let lineEnd = body[index...].firstIndex(of: 13), lineEnd + 1 < body.count else {
                throw Failure(description: "malformed chunked body")
            }
            let sizeText = String(decoding: body[index..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(String(sizeText).trimmingSpaces, radix: 16), size >= 0 else {
                throw Failure(description: "malformed chunk size '\(sizeText)'")
            }
            let start = lineEnd + 2
            if size == 0 { return out }
            guard start + size <= body.count else { throw Failure(description: "truncated chunked body") }
            out += body[start..<(start + size)]
            index = start + size + 2
        }
    }

    private func connect() throws(Failure) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(address.host, "\(address.port)", &hints, &result)
        guard status == 0, let first = result else {
            throw Failure(description: "cannot resolve \(address.host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(result) }
        var lastError = "no address"
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            cursor = entry.pointee.ai_next
            let fd = socket(entry.pointee.ai_family, entry.pointee.ai_socktype, entry.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            var limit = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            if Glibc.connect(fd, entry.pointee.ai_addr, entry.pointee.ai_addrlen) == 0 { return fd }
            lastError = Self.lastError()
            close(fd)
        }
        throw Failure(description: "cannot connect to the agent at \(address): \(lastError)")
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}
