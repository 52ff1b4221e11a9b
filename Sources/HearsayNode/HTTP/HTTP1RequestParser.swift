import NIOCore
import NIOHTTP1

/// Reads HTTP/1.0 and 1.1 requests (RFC 9112) from the bytes of a connection, one part
/// at a time: a head, its body in slices as they arrive, then its end.
///
/// The API's own parser, in place of NIO's HTTP/1 pipeline (llhttp behind a decoder, a
/// pipelining handler, an error handler and a header validator, each request passing
/// through all of them as separate parts), which was 45 % of the instructions the agent
/// spent on a durable PUT (docs/benchmarks.md). It is strict where leniency lets two
/// parsers read one stream differently (request smuggling): a space before a header's
/// colon, a folded header line, `Content-Length` beside `Transfer-Encoding`, or two
/// lengths that differ are refused; so is any coding but `chunked`, which the API has no
/// use for. A line may end in a bare LF (RFC 9112 allows a recipient to accept it).
struct HTTP1RequestParser {
    /// The most bytes of a head (request line and headers), or of a chunked body's
    /// trailers: past it the request is refused 431.
    static let maxHeadBytes = 64 * 1024
    /// The most bytes of a chunk's size line, extensions included.
    static let maxChunkLineBytes = 1024

    /// What a call to `next` found.
    enum Part {
        case head(HTTP1RequestHead)
        /// Bytes of the body, a slice of the buffer given to `next`.
        case body(ByteBuffer)
        case end
    }

    private enum State {
        case head
        case length(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        /// The body is read: the next call answers `.end`.
        case ended
    }

    private var state = State.head
    /// How far into the buffered bytes the search for the head's (or trailers') end has
    /// looked, and where the line it is in began: a head that arrives in many reads is
    /// scanned once.
    private var scanned = 0
    private var lineStart = 0
    /// How far into the line at the front of the buffer `takeLine` has looked for its end.
    private var lineScanned = 0

    /// Whether nothing of a request has been read since the last one ended.
    var isBetweenRequests: Bool {
        if case .head = state { return scanned == 0 }
        return false
    }

    /// The next part in `buffer`, consuming its bytes; nil when more bytes are needed.
    /// After an error the connection can only be answered and closed.
    mutating func next(_ buffer: inout ByteBuffer) throws(HTTP1ParseError) -> Part? {
        while true {
            switch state {
            case .head:
                guard let head = try nextHead(&buffer) else { return nil }
                switch head.body {
                case .none: state = .ended
                case .length(let count): state = count == 0 ? .ended : .length(remaining: count)
                case .chunked: state = .chunkSize
                }
                return .head(head)
            case .length(let remaining):
                guard buffer.readableBytes > 0 else { return nil }
                let count = min(remaining, buffer.readableBytes)
                state = count == remaining ? .ended : .length(remaining: remaining - count)
                return .body(buffer.readSlice(length: count)!)
            case .chunkSize:
                guard
                    let line = try takeLine(
                        &buffer, limit: Self.maxChunkLineBytes, crlf: true, "a chunk's size line",
                        tooLong: .bad("a chunk's size line is too long"))
                else { return nil }
                let size = try Self.chunkSize(line)
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                guard buffer.readableBytes > 0 else { return nil }
                let count = min(remaining, buffer.readableBytes)
                state = count == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - count)
                return .body(buffer.readSlice(length: count)!)
            case .chunkDataEnd:
                guard
                    let line = try takeLine(
                        &buffer, limit: 2, crlf: true, "a chunk", tooLong: .bad("a chunk is longer than its size"))
                else { return nil }
                guard line.isEmpty else { throw .bad("a chunk is longer than its size") }
                state = .chunkSize
            case .trailers:
                // Trailer fields are read and ignored: no route uses them. They end the
                // message, so their lines must end in CRLF and be well-formed fields, as
                // a chunk's lines must; together they are held to the head's limit.
                guard
                    let line = try takeLine(
                        &buffer, limit: Self.maxHeadBytes - scanned, crlf: true, "a trailer",
                        tooLong: HTTP1ParseError(
                            status: .requestHeaderFieldsTooLarge,
                            reason: "the request's trailers are longer than \(Self.maxHeadBytes) bytes"))
                else { return nil }
                scanned += line.count + 2
                if !line.isEmpty { try Self.checkTrailer(line) }
                if line.isEmpty {
                    scanned = 0
                    state = .ended
                }
            case .ended:
                state = .head
                return .end
            }
        }
    }

    /// The head, once its end is in `buffer`; its bytes are consumed then.
    private mutating func nextHead(_ buffer: inout ByteBuffer) throws(HTTP1ParseError) -> HTTP1RequestHead? {
        // Empty lines before a request line are skipped (RFC 9112, section 2.2): some
        // clients end a body with an extra CRLF.
        if scanned == 0 {
            while let byte = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self), byte == 13 || byte == 10 {
                buffer.moveReaderIndex(forwardBy: 1)
            }
        }
        let readable = buffer.readableBytes
        let found: Int? = buffer.withUnsafeReadableBytes { bytes in
            var index = scanned
            while index < bytes.count {
                if bytes[index] == 10 {
                    var end = index
                    if end > lineStart && bytes[end - 1] == 13 { end -= 1 }
                    if end == lineStart { return index + 1 }
                    lineStart = index + 1
                }
                index += 1
            }
            return nil
        }
        guard let length = found else {
            scanned = readable
            guard readable <= Self.maxHeadBytes else {
                throw HTTP1ParseError(
                    status: .requestHeaderFieldsTooLarge,
                    reason: "the request's head is longer than \(Self.maxHeadBytes) bytes")
            }
            return nil
        }
        scanned = 0
        lineStart = 0
        guard length <= Self.maxHeadBytes else {
            throw HTTP1ParseError(
                status: .requestHeaderFieldsTooLarge,
                reason: "the request's head is longer than \(Self.maxHeadBytes) bytes")
        }
        let head = try buffer.withUnsafeReadableBytes { bytes throws(HTTP1ParseError) in
            try Self.parseHead(UnsafeRawBufferPointer(rebasing: bytes[..<length]))
        }
        buffer.moveReaderIndex(forwardBy: length)
        return head
    }

    /// The line at the front of `buffer` without its end, consumed; nil while no line
    /// end is within `limit` bytes and more may come (then `tooLong` once there cannot
    /// be). `crlf` requires the end to be CRLF: a chunk's framing is where parsers that
    /// read a bare LF differently would split one stream into different requests.
    private mutating func takeLine(
        _ buffer: inout ByteBuffer, limit: Int, crlf: Bool, _ what: String, tooLong: HTTP1ParseError
    ) throws(HTTP1ParseError) -> [UInt8]? {
        let view = buffer.readableBytesView
        let searchEnd = view.startIndex + min(view.count, limit + 2)
        // Searched from where the last call stopped: a line that arrives a byte at a time
        // is scanned once.
        let searchStart = min(view.startIndex + lineScanned, searchEnd)
        guard let newline = view[searchStart..<searchEnd].firstIndex(of: 10) else {
            if view.count >= limit + 2 { throw tooLong }
            lineScanned = searchEnd - view.startIndex
            return nil
        }
        lineScanned = 0
        var end = newline
        if end > view.startIndex && view[end - 1] == 13 {
            end -= 1
        } else if crlf {
            throw .bad("\(what) does not end in CRLF")
        }
        let line = Array(view[view.startIndex..<end])
        buffer.moveReaderIndex(forwardBy: newline - view.startIndex + 1)
        return line
    }

    /// A chunk's size: hexadecimal digits, then extensions (ignored) after a `;` and
    /// optional spaces. An extension may not hold a control character.
    private static func chunkSize(_ line: [UInt8]) throws(HTTP1ParseError) -> Int {
        var size = 0
        var index = 0
        while index < line.count {
            let byte = line[index]
            let digit: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = Int(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = Int(byte - UInt8(ascii: "A")) + 10
            default: digit = -1
            }
            guard digit >= 0 else { break }
            // 15 hex digits hold any size this side of Int.max.
            guard index < 15 else { throw .bad("a chunk size too large") }
            size = size << 4 | digit
            index += 1
        }
        guard index > 0 else { throw .bad("a chunk size line without a size") }
        let rest = line[index...].drop(while: { $0 == 32 || $0 == 9 })
        guard rest.isEmpty || rest.first == UInt8(ascii: ";") else { throw .bad("a malformed chunk size") }
        guard rest.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else {
            throw .bad("a control character in a chunk extension")
        }
        return size
    }

    /// Parses a whole head: the request line, then header lines, each ending in LF or
    /// CRLF, and the empty line that ends it.
    static func parseHead(_ bytes: UnsafeRawBufferPointer) throws(HTTP1ParseError) -> HTTP1RequestHead {
        var lines: [UnsafeRawBufferPointer] = []
        var start = 0
        for index in 0..<bytes.count where bytes[index] == 10 {
            var end = index
            if end > start && bytes[end - 1] == 13 { end -= 1 }
            lines.append(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
            start = index + 1
        }
        // The last line is the empty one that ends the head.
        guard lines.count >= 2 else { throw .bad("a request without a request line") }
        let (method, uri, version) = try requestLine(lines[0])
        var headers = HTTPHeaders()
        var length: Int?
        var chunkedCodings = 0
        var otherCoding = false
        var transferEncoding = false
        var close = false
        var keepAliveAsked = false
        var expectsContinue = false
        for line in lines[1..<(lines.count - 1)] {
            let (name, value) = try headerField(line)
            if equalsIgnoringCase(name, "content-length") {
                guard let parsed = decimal(value) else { throw .bad("a malformed Content-Length") }
                if let length, length != parsed { throw .bad("two Content-Length values that differ") }
                length = parsed
                continue
            } else if equalsIgnoringCase(name, "transfer-encoding") {
                // Every coding of every Transfer-Encoding line counts: a parser that read
                // only the last line would see `chunked` where another sees `gzip`.
                transferEncoding = true
                for token in value.split(separator: UInt8(ascii: ",")) {
                    let coding = trim(token)
                    if coding.isEmpty { continue }
                    if equalsIgnoringCase(coding, "chunked") { chunkedCodings += 1 } else { otherCoding = true }
                }
                continue
            } else if equalsIgnoringCase(name, "connection") {
                for token in value.split(separator: UInt8(ascii: ",")) {
                    let trimmed = trim(token)
                    if equalsIgnoringCase(trimmed, "close") { close = true }
                    if equalsIgnoringCase(trimmed, "keep-alive") { keepAliveAsked = true }
                }
                continue
            } else if equalsIgnoringCase(name, "expect") {
                expectsContinue = equalsIgnoringCase(value, "100-continue")
                continue
            }
            headers.add(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
        }
        let body: HTTP1RequestHead.Body
        if transferEncoding {
            guard length == nil else { throw .bad("both Content-Length and Transfer-Encoding") }
            guard version.minor >= 1 else { throw .bad("Transfer-Encoding in an HTTP/1.0 request") }
            guard !otherCoding else {
                throw HTTP1ParseError(status: .notImplemented, reason: "no transfer coding but chunked is supported")
            }
            guard chunkedCodings == 1 else {
                throw .bad(chunkedCodings == 0 ? "a Transfer-Encoding without a coding" : "chunked applied twice")
            }
            body = .chunked
        } else if let length, length > 0 {
            body = .length(length)
        } else {
            body = .none
        }
        let keepAlive = !close && (version.minor >= 1 || keepAliveAsked)
        return HTTP1RequestHead(
            method: method, uri: uri, version: version, headers: headers, body: body, keepAlive: keepAlive,
            expectsContinue: expectsContinue && version.minor >= 1 && body != .none)
    }

    /// `METHOD SP target SP HTTP/1.x`, single spaces, nothing else.
    private static func requestLine(_ line: UnsafeRawBufferPointer) throws(HTTP1ParseError) -> (
        HTTPMethod, String, HTTPVersion
    ) {
        guard let firstSpace = line.firstIndex(of: 32) else { throw .bad("a malformed request line") }
        let rest = line[(firstSpace + 1)...]
        guard let secondSpace = rest.firstIndex(of: 32) else { throw .bad("a malformed request line") }
        let method = line[..<firstSpace]
        let target = line[(firstSpace + 1)..<secondSpace]
        let version = line[(secondSpace + 1)...]
        guard !method.isEmpty, method.allSatisfy(isTokenByte) else { throw .bad("a malformed method") }
        guard !target.isEmpty, target.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw .bad("a malformed request target")
        }
        let minor: Int
        if version.elementsEqual("HTTP/1.1".utf8) {
            minor = 1
        } else if version.elementsEqual("HTTP/1.0".utf8) {
            minor = 0
        } else {
            throw .bad("not an HTTP/1.0 or 1.1 request")
        }
        return (
            HTTPMethod(rawValue: String(decoding: method, as: UTF8.self)),
            String(decoding: target, as: UTF8.self),
            HTTPVersion(major: 1, minor: minor)
        )
    }

    /// A trailer line is a header field like any other.
    private static func checkTrailer(_ line: [UInt8]) throws(HTTP1ParseError) {
        var failure: HTTP1ParseError?
        line.withUnsafeBytes { bytes in
            do {
                _ = try headerField(bytes)
            } catch {
                failure = error as? HTTP1ParseError ?? .bad("a malformed trailer")
            }
        }
        if let failure { throw failure }
    }

    /// `name: value`, the value without the spaces around it.
    private static func headerField(_ line: UnsafeRawBufferPointer) throws(HTTP1ParseError) -> (
        Slice<UnsafeRawBufferPointer>, Slice<UnsafeRawBufferPointer>
    ) {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw .bad("a header line without a colon") }
        let name = line[..<colon]
        // A space before the colon, or a line that begins with one (a folded line), is
        // read differently by different parsers: refused.
        guard !name.isEmpty, name.allSatisfy(isTokenByte) else { throw .bad("a malformed header name") }
        let value = trim(line[(colon + 1)...])
        guard value.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else {
            throw .bad("a control character in the value of a header")
        }
        return (name, value)
    }

    /// RFC 9110's `tchar`: the bytes of a method or a header name.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default: Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }

    private static func trim<Bytes: BidirectionalCollection<UInt8>>(_ bytes: Bytes) -> Bytes.SubSequence
    where Bytes.SubSequence == Bytes.SubSequence.SubSequence {
        var slice = bytes[...]
        while let first = slice.first, first == 32 || first == 9 { slice = slice.dropFirst() }
        while let last = slice.last, last == 32 || last == 9 { slice = slice.dropLast() }
        return slice
    }

    private static func equalsIgnoringCase<Bytes: Collection<UInt8>>(_ bytes: Bytes, _ lowercase: StaticString)
        -> Bool
    {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        return lowercase.withUTF8Buffer { expected in
            zip(bytes, expected).allSatisfy { (byte, want) in
                (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte) == want
            }
        }
    }

    /// Decimal digits only (no sign, no spaces), small enough for an `Int`.
    private static func decimal<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}
