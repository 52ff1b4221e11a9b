/// How urgent a message is; the Go original's `Priority`.
public enum Priority: String, CaseIterable, Sendable, Codable {
    case low, normal, high, critical

    /// The one-byte code used on the wire.
    public var wireCode: UInt8 {
        switch self {
        case .low: 0
        case .normal: 1
        case .high: 2
        case .critical: 3
        }
    }

    /// The priority for a wire code, or nil for an unknown one.
    public init?(wireCode: UInt8) {
        guard let p = Self.allCases.first(where: { $0.wireCode == wireCode }) else { return nil }
        self = p
    }
}

/// The Go original's message metadata flags.
///
/// The core sets `priority` and `reliability`; the wire layer sets `encrypted`,
/// `compressed`, `originalSize` and `compressionType` when it encodes the frame.
public struct MessageMetadata: Hashable, Sendable {
    /// How urgent the message is.
    public var priority: Priority
    /// Whether the message travels on a reliable (stream) transport.
    public var reliability: Bool
    /// Whether the frame body is AES-256-GCM encrypted.
    public var encrypted: Bool
    /// Whether the frame body is zlib compressed.
    public var compressed: Bool
    /// The uncompressed body length, when compressed.
    public var originalSize: Int
    /// The compression algorithm, e.g. `zlib`, when compressed.
    public var compressionType: String?

    /// Creates message metadata.
    public init(
        priority: Priority = .normal, reliability: Bool = false, encrypted: Bool = false,
        compressed: Bool = false, originalSize: Int = 0, compressionType: String? = nil
    ) {
        self.priority = priority
        self.reliability = reliability
        self.encrypted = encrypted
        self.compressed = compressed
        self.originalSize = originalSize
        self.compressionType = compressionType
    }

    /// Encoded length: a flags byte, a priority byte, the original size, the compression type.
    package var wireSize: Int {
        2 + WireSize.varint(originalSize) + WireSize.optional(compressionType, WireSize.string)
    }
}
