import NIOCore
import NIOHTTP1

extension HTTPResponse {
    /// This answer as HTTP/1 bytes in one buffer, so that it leaves in one write: the
    /// status line, `Content-Type`, `Content-Length`, `Connection`, the answer's own
    /// headers, and (unless the request was a HEAD) the body.
    ///
    /// A header whose name or value holds a line break or NUL is left out rather than let
    /// it end the head early: no header here carries a client's text unchecked, but the
    /// encoder is the one place that can make sure.
    func encoded(version: HTTPVersion, keepAlive: Bool, withBody: Bool, allocator: ByteBufferAllocator)
        -> ByteBuffer
    {
        var buffer = allocator.buffer(capacity: 160 + headers.count * 48 + (withBody ? body.count : 0))
        buffer.writeStaticString(version.minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        let code = Int(status.code)
        buffer.writeInteger(UInt8(ascii: "0") + UInt8(code / 100 % 10))
        buffer.writeInteger(UInt8(ascii: "0") + UInt8(code / 10 % 10))
        buffer.writeInteger(UInt8(ascii: "0") + UInt8(code % 10))
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(status.reasonPhrase)
        buffer.writeStaticString("\r\nContent-Type: ")
        buffer.writeString(contentType)
        buffer.writeStaticString("\r\nContent-Length: ")
        Self.writeDecimal(UInt64(body.count), to: &buffer)
        buffer.writeStaticString(keepAlive ? "\r\nConnection: keep-alive\r\n" : "\r\nConnection: close\r\n")
        for (name, value) in headers where Self.isSafe(name) && Self.isSafe(value) {
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
        if withBody { buffer.writeBytes(body) }
        return buffer
    }

    /// The head of an event stream's answer (the connection's last answer), or of a HEAD
    /// request for one, which has no body. HTTP/1.1 streams are chunked; an HTTP/1.0
    /// client knows no chunks, so its stream is the bytes until the connection closes.
    static func streamHead(
        contentType: String, index: UInt64, version: HTTPVersion, isHead: Bool,
        allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 192)
        buffer.writeStaticString(version.minor == 0 ? "HTTP/1.0 200 OK\r\n" : "HTTP/1.1 200 OK\r\n")
        buffer.writeStaticString("Content-Type: ")
        buffer.writeString(contentType)
        buffer.writeStaticString("\r\nCache-Control: no-cache\r\nConnection: close\r\nX-Hearsay-Index: ")
        writeDecimal(index, to: &buffer)
        if isHead {
            buffer.writeStaticString("\r\nContent-Length: 0\r\n\r\n")
        } else if version.minor == 0 {
            buffer.writeStaticString("\r\n\r\n")
        } else {
            buffer.writeStaticString("\r\nTransfer-Encoding: chunked\r\n\r\n")
        }
        return buffer
    }

    /// The interim answer to `Expect: 100-continue`.
    static let continueHead: ByteBuffer = ByteBuffer(string: "HTTP/1.1 100 Continue\r\n\r\n")

    private static func isSafe(_ text: String) -> Bool {
        !text.utf8.contains { $0 == 13 || $0 == 10 || $0 == 0 }
    }

    /// `value`'s decimal digits, written in place.
    static func writeDecimal(_ value: UInt64, to buffer: inout ByteBuffer) {
        var divisor: UInt64 = 1
        while divisor <= value / 10 { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }
}
