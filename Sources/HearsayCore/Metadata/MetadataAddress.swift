/// The address of a metadata entry, such as `ucxl://agent:role@project:task/context`.
///
/// Addresses are 1 to 512 bytes of the characters a URI allows (RFC 3986 unreserved
/// and reserved characters and `%`), so they are safe in URLs, logs and wire frames.
public struct MetadataAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The address as given.
    public let rawValue: String

    /// The longest accepted address, in bytes.
    public static let maxLength = 512

    /// Creates an address after checking its length and characters.
    public init(_ rawValue: String) throws(ValidationError) {
        let bytes = rawValue.utf8
        guard !bytes.isEmpty, bytes.count <= Self.maxLength else {
            throw ValidationError(
                setting: "metadata address", value: rawValue, allowed: "1 to \(Self.maxLength) bytes")
        }
        guard bytes.allSatisfy(ByteRule.isMetadataAddressByte) else {
            throw ValidationError(
                setting: "metadata address", value: rawValue,
                allowed: "letters, digits and \(ByteRule.metadataAddressPunctuation)")
        }
        self.rawValue = rawValue
    }

    /// Creates an address known to be valid (checked elsewhere, or built by a test or
    /// the simulator). Not public: a library user's addresses go through validation.
    package init(unchecked rawValue: String) {
        self.rawValue = rawValue
    }

    /// Whether `rawValue` would be accepted.
    public static func isValid(_ rawValue: String) -> Bool {
        (try? MetadataAddress(rawValue)) != nil
    }

    public var description: String { rawValue }

    public static func < (lhs: MetadataAddress, rhs: MetadataAddress) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}
