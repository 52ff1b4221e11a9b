/// Length-prefixed frames on a stream (TCP): a 4-byte big-endian length, then the frame.
///
/// The receiver judges each length before it buffers the frame (`check`), so a hostile
/// peer cannot make it hold more than the limits allow.
package enum StreamFraming {
    /// The bytes of the length prefix.
    package static let prefixBytes = 4

    /// `frame` with its length prefix.
    package static func prefixed(_ frame: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(prefixBytes + frame.count)
        append(frame, to: &bytes)
        return bytes
    }

    /// Appends `frame`, prefixed with its length, to `bytes`.
    static func append(_ frame: [UInt8], to bytes: inout [UInt8]) {
        let n = UInt32(clamping: frame.count)
        bytes += [
            UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8),
            UInt8(truncatingIfNeeded: n),
        ]
        bytes += frame
    }

    /// Whether a frame whose prefix declares `length` bytes may be read, on a connection
    /// where a frame has (`authenticated`) or has not yet passed every check. The error
    /// is the frame's drop reason; the connection should then be closed, since the rest
    /// of its bytes can no longer be framed.
    package static func check(length: Int, maxFrameBytes: Int, authenticated: Bool) -> WireError? {
        if length > maxFrameBytes {
            return .tooLarge("stream frame of \(length) bytes, limit \(maxFrameBytes)")
        }
        if !authenticated, length > WireLimits.maxUnauthenticatedStreamFrameBytes {
            return .tooLarge(
                "stream frame of \(length) bytes before any authenticated frame on its connection, limit "
                    + "\(WireLimits.maxUnauthenticatedStreamFrameBytes)")
        }
        return nil
    }
}
