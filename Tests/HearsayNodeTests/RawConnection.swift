import Foundation

/// A TCP connection to an agent on a raw socket, for tests that speak to a port as an
/// attacker or a broken client would: partial frames, trickled bytes, many at once.
final class RawConnection {
    let fd: Int32

    /// Connects to `port` on 127.0.0.1 from `source` (any address of 127/8 names this
    /// host, so tests can play several clients); nil when the connection failed.
    /// `receiveBuffer` shrinks the socket's receive buffer (set before connecting, so the
    /// window the peer sees is small too): a client that reads nothing then stops the
    /// peer's writes after a few KiB.
    init?(port: Int, source: String = "127.0.0.1", receiveBuffer: Int32? = nil) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        let bound = LoopbackAddress.with(port: 0, host: source) { bind(fd, $0, $1) }
        let connected = LoopbackAddress.with(port: port) { connect(fd, $0, $1) }
        guard bound == 0, connected == 0 else {
            Foundation.close(fd)
            return nil
        }
    }

    deinit { Foundation.close(fd) }

    /// Sends `bytes`; false when the peer has closed (or reset) the connection.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }

    /// Reads until the peer closes or `seconds` pass without a byte. Returns what arrived
    /// and whether the peer closed (or reset) the connection.
    func readUntilClosed(seconds: Double) -> (bytes: [UInt8], closed: Bool) {
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received += buffer[..<count]
            } else {
                // 0: closed; -1 with ECONNRESET: reset; -1 with EAGAIN: still open.
                return (received, count == 0 || errno == ECONNRESET)
            }
        }
    }

    /// Whether the peer has closed the connection by now and sent nothing left unread,
    /// without waiting.
    var isClosedByPeer: Bool {
        var byte: UInt8 = 0
        let count = recv(fd, &byte, 1, Int32(MSG_DONTWAIT | MSG_PEEK))
        return count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    /// A 4-byte big-endian length prefix.
    static func prefix(_ length: Int) -> [UInt8] {
        [UInt8(length >> 24 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
    }
}
