import HearsayCore

extension MessageCodec {
    /// One metadata version in the wire encoding, for the node's data log: the same bytes
    /// a `context_update` carries, so the log needs no second format.
    package static func encodeStoredVersion(_ stored: ContextMetadata) -> [UInt8] {
        var writer = ByteWriter(capacity: 64 + (stored.valueText?.utf8.count ?? 0))
        version(stored, into: &writer)
        return writer.bytes
    }

    /// Reads a version written by `encodeStoredVersion` from `bytes[range]`; every byte of
    /// the range must belong to it.
    package static func decodeStoredVersion(_ bytes: [UInt8], range: Range<Int>) throws(WireError)
        -> ContextMetadata
    {
        var reader = ByteReader(bytes, range: range)
        let stored = try version(&reader)
        guard reader.isAtEnd else { throw .decodeError("\(reader.remaining) bytes after a stored version") }
        return stored
    }
}
