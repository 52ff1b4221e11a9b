/// The bytes node names and metadata addresses are made of: the one definition that
/// `NodeID` and `MetadataAddress` validate with, and that the wire decoder checks
/// received bytes with as it copies them (`ByteReader.token`), so the two cannot drift.
///
/// Each rule is a few instructions on one byte, inlinable across modules, because the
/// decoder runs it on every byte of every name and address it receives.
package enum ByteRule {
    /// Printable ASCII without spaces (0x21 to 0x7E): node names, and peer addresses on
    /// the wire.
    @inlinable
    package static func isNodeIDByte(_ byte: UInt8) -> Bool {
        byte &- 0x21 < 0x7F - 0x21
    }

    /// The punctuation a metadata address may hold besides letters and digits: RFC 3986's
    /// unreserved and reserved characters, and `%`.
    package static let metadataAddressPunctuation = "-._~:/?#[]@!$&'()*+,;=%"

    /// Letters, digits and `metadataAddressPunctuation`.
    @inlinable
    package static func isMetadataAddressByte(_ byte: UInt8) -> Bool {
        // One bit per ASCII byte, 0 to 63 then 64 to 127; a test derives both words from
        // letters, digits and `metadataAddressPunctuation`.
        let low: UInt64 = 0xAFFF_FFFA_0000_0000
        let high: UInt64 = 0x47FF_FFFE_AFFF_FFFF
        switch byte {
        case 0..<64: return (low >> UInt64(byte)) & 1 != 0
        case 64..<128: return (high >> UInt64(byte - 64)) & 1 != 0
        default: return false
        }
    }
}
