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
        guard bytes.allSatisfy(Self.isAllowed) else {
            throw ValidationError(
                setting: "metadata address", value: rawValue,
                allowed: "letters, digits and -._~:/?#[]@!$&'()*+,;=%")
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

    private static func isAllowed(_ byte: UInt8) -> Bool { allowed[Int(byte)] }

    /// Which bytes may appear, as a table: every received address is checked.
    private static let allowed: [Bool] = (0...255).map { (byte: Int) -> Bool in
        let b = UInt8(byte)
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "-._~:/?#[]@!$&'()*+,;=%".utf8.contains(b)
        }
    }
}
