/// Length-prefixed frames on a stream (TCP): a 4-byte big-endian length, then the frame.
///
/// The receiver refuses a length above its configured maximum before reading the
/// frame, so a hostile peer cannot make it buffer more than that.
public struct StreamFraming: Sendable {
    /// The largest frame accepted.
    public let maxFrameBytes: Int
    private var buffer: [UInt8] = []

    /// A deframer accepting frames up to `maxFrameBytes`.
    public init(maxFrameBytes: Int = WireLimits.defaultMaxStreamFrameBytes) {
        self.maxFrameBytes = maxFrameBytes
    }

    /// `frame` with its length prefix.
    public static func prefixed(_ frame: [UInt8]) -> [UInt8] {
        let n = UInt32(clamping: frame.count)
        return [
            UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8),
            UInt8(truncatingIfNeeded: n),
        ]
            + frame
    }

    /// Adds received bytes and returns every frame now complete. Throws `tooLarge` for a
    /// length above the maximum; the stream should then be closed.
    public mutating func feed(_ bytes: some Collection<UInt8>) throws(WireError) -> [[UInt8]] {
        buffer.append(contentsOf: bytes)
        var frames: [[UInt8]] = []
        var start = 0
        while buffer.count - start >= 4 {
            let n = buffer[start..<start + 4].reduce(0) { $0 << 8 | Int($1) }
            guard n <= maxFrameBytes else { throw .tooLarge("stream frame of \(n) bytes, limit \(maxFrameBytes)") }
            guard buffer.count - start - 4 >= n else { break }
            frames.append(Array(buffer[start + 4..<start + 4 + n]))
            start += 4 + n
        }
        buffer.removeFirst(start)
        return frames
    }

    /// Bytes received but not yet part of a whole frame.
    public var pendingBytes: Int { buffer.count }
}
