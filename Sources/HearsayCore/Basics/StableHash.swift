/// A 64-bit hash that is the same in every process and on every machine.
///
/// Swift's `Hasher` is seeded per process, so it cannot name a bucket or a checksum
/// that two nodes compare. This is FNV-1a over the bytes, finished with a SplitMix64
/// avalanche so that nearby inputs land in distant buckets. It detects divergence
/// between honest nodes; integrity against attackers is the HMAC's job.
package struct StableHash: Sendable {
    private var state: UInt64 = 0xCBF2_9CE4_8422_2325

    /// Creates a hasher with the FNV-1a offset basis.
    package init() {}

    /// Feeds raw bytes.
    package mutating func combine<Bytes: Sequence>(bytes: Bytes) where Bytes.Element == UInt8 {
        for byte in bytes {
            state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
    }

    /// Feeds a string's UTF-8 bytes followed by its length, so that "ab","c" and "a","bc"
    /// hash differently.
    package mutating func combine(_ string: String) {
        combine(bytes: string.utf8)
        combine(UInt64(string.utf8.count))
    }

    /// Feeds an integer as 8 little-endian bytes.
    package mutating func combine(_ value: UInt64) {
        var v = value
        for _ in 0..<8 {
            state = (state ^ (v & 0xFF)) &* 0x0000_0100_0000_01B3
            v >>= 8
        }
    }

    /// The hash of everything fed so far.
    package func finalize() -> UInt64 {
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The hash of one string.
    package static func of(_ string: String) -> UInt64 {
        var hasher = StableHash()
        hasher.combine(string)
        return hasher.finalize()
    }
}
