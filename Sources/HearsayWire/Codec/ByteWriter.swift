import HearsayCore

/// Appends the primitive encodings of `docs/wire.md` to a byte buffer.
///
/// Each method writes exactly the number of bytes `WireSize` predicts for the same
/// value, which the core relies on to fill datagrams without encoding them.
package struct ByteWriter: Sendable {
    /// The bytes written so far.
    package private(set) var bytes: [UInt8]

    /// Creates a writer, reserving `capacity` bytes.
    package init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// An unsigned LEB128 varint.
    package mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// A count or length (never negative).
    package mutating func varint(_ value: Int) { varint(UInt64(max(0, value))) }

    /// A signed integer as a zigzag varint.
    package mutating func zigzag(_ value: Int64) {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// One byte.
    package mutating func byte(_ value: UInt8) { bytes.append(value) }

    /// Eight bytes, little-endian.
    package mutating func fixed64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// A `Double` as its IEEE 754 bits, little-endian.
    package mutating func double(_ value: Double) { fixed64(value.bitPattern) }

    /// A string: varint length, then UTF-8.
    package mutating func string(_ value: String) {
        varint(value.utf8.count)
        // One copy of the string's contiguous UTF-8 rather than a walk over its view.
        if value.utf8.withContiguousStorageIfAvailable({ bytes.append(contentsOf: $0) }) == nil {
            bytes.append(contentsOf: value.utf8)
        }
    }

    /// An array of strings.
    package mutating func strings(_ values: [String]) {
        array(values) { $0.string($1) }
    }

    /// An array: a count, then each element as `element` writes it.
    package mutating func array<T>(_ items: [T], _ element: (inout ByteWriter, T) -> Void) {
        varint(items.count)
        // By index, so each element is lent to `element` rather than copied out first.
        for index in items.indices { element(&self, items[index]) }
    }

    /// An optional: a tag byte, then the value as `element` writes it when present.
    package mutating func optional<T>(_ value: T?, _ element: (inout ByteWriter, T) -> Void) {
        guard let value else { return byte(0) }
        byte(1)
        element(&self, value)
    }

    /// Raw bytes as they are.
    package mutating func raw<C: Collection>(_ data: C) where C.Element == UInt8 {
        bytes.append(contentsOf: data)
    }

    /// Gives `body` the bytes written so far to change in place (a signature over the
    /// rest of the buffer is written this way, without copying the frame).
    package mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) -> R) -> R {
        bytes.withUnsafeMutableBytes(body)
    }

    /// A length-prefixed byte array.
    package mutating func data(_ data: [UInt8]) {
        varint(data.count)
        bytes.append(contentsOf: data)
    }
}
