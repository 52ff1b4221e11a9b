import HearsayCore

/// A node name a reader recognises on the wire (see `ByteReader.repeatedName()`), with its
/// first sixteen bytes as two words: a name of up to sixteen bytes, most of them, is then
/// recognised with two loads and two compares instead of a walk over both spellings.
struct KnownName {
    let name: NodeID
    /// The name's length in bytes.
    let count: Int
    // Bytes 0 to 7 and 8 to 15 of the name, little-endian, zero past its end.
    let low: UInt64
    let high: UInt64

    init(_ name: NodeID) {
        self.name = name
        var text = name.rawValue
        // One copy of at most sixteen bytes, not a loop over the string's UTF-8 view:
        // decoding a body alone remembers its sender this way every time.
        (count, low, high) = text.withUTF8 { utf8 in
            var words: (UInt64, UInt64) = (0, 0)
            withUnsafeMutableBytes(of: &words) { words in
                words.copyMemory(from: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(utf8).prefix(16)))
            }
            return (utf8.count, UInt64(littleEndian: words.0), UInt64(littleEndian: words.1))
        }
    }

    /// Whether the `count` bytes whose first sixteen are `words` (little-endian, anything
    /// past `count`) spell this name; `count` must be at most 16.
    @inline(__always)
    func matches(count n: Int, words: (UInt64, UInt64)) -> Bool {
        guard n == count else { return false }
        let low = n >= 8 ? words.0 : words.0 & ((1 &<< UInt64(8 * n)) &- 1)
        let high = n >= 16 ? words.1 : n <= 8 ? 0 : words.1 & ((1 &<< UInt64(8 * (n - 8))) &- 1)
        return low == self.low && high == self.high
    }
}
