/// The short public name of a key: the first four bytes of its SHA-256 digest, big-endian.
///
/// A frame carries the id of the key that signed it so the receiver picks that key directly
/// instead of trying every accepted key. The digest reveals nothing usable about the key.
package struct KeyID: Hashable, Sendable, CustomStringConvertible {
    /// The number of bytes a key id takes on the wire.
    package static let byteCount = 4

    /// The id as a number; its big-endian bytes are the wire form.
    package let rawValue: UInt32

    /// An id read from a frame.
    package init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// The id of `key`.
    package init(of key: [UInt8]) {
        let digest = SHA256.hash(key)
        self.rawValue = digest.prefix(Self.byteCount).reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// The four wire bytes, most significant first.
    package var bytes: [UInt8] {
        [
            UInt8(truncatingIfNeeded: rawValue >> 24), UInt8(truncatingIfNeeded: rawValue >> 16),
            UInt8(truncatingIfNeeded: rawValue >> 8), UInt8(truncatingIfNeeded: rawValue),
        ]
    }

    /// Eight lowercase hex digits, the form logs show.
    package var description: String {
        let hex = String(rawValue, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }
}
