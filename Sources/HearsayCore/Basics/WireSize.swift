/// Byte lengths of the body encoding described in `docs/wire.md`.
///
/// The core packs piggybacked messages into a datagram budget and the simulator
/// counts bytes, so both need the encoded size of a message without encoding it.
/// The rules: unsigned integers are LEB128 varints, signed ones zigzag varints,
/// `Double` is 8 bytes, strings and byte arrays are a varint length then the bytes,
/// arrays are a varint count then the elements, optionals a one-byte tag then the
/// value. `HearsayWire`'s codec follows the same rules, and its tests check that the
/// encoded length equals these sizes.
package enum WireSize {
    /// Length of `value` as an unsigned LEB128 varint.
    @inlinable
    package static func varint(_ value: UInt64) -> Int {
        var v = value
        var n = 1
        while v >= 0x80 {
            v >>= 7
            n += 1
        }
        return n
    }

    /// Length of an `Int` as an unsigned varint (counts and lengths are never negative).
    @inlinable
    package static func varint(_ value: Int) -> Int { varint(UInt64(max(0, value))) }

    /// Length of a signed integer as a zigzag varint.
    @inlinable
    package static func zigzag(_ value: Int64) -> Int {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// Length of a string: varint length then UTF-8 bytes.
    @inlinable
    package static func string(_ value: String) -> Int {
        let n = value.utf8.count
        return varint(n) + n
    }

    /// Length of an array of strings.
    @inlinable
    package static func strings(_ values: [String]) -> Int {
        values.reduce(varint(values.count)) { $0 + string($1) }
    }

    /// Length of an optional: one tag byte plus the wrapped value's length.
    @inlinable
    package static func optional<T>(_ value: T?, _ size: (T) -> Int) -> Int {
        value.map { 1 + size($0) } ?? 1
    }
}
