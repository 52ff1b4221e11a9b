/// Why an incoming frame was refused.
///
/// Every rejected frame maps to exactly one case, and `reason` is the label of the
/// `hearsay_messages_dropped_total{reason=...}` counter, so the set of cases is the set of
/// metric labels: adding a case adds a label. The associated text is a short detail for
/// rate-limited logs; it never goes into a metric label, where it would explode cardinality.
package enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The frame ended before a field it announced.
    case truncated(String = "")
    /// The frame, or a length it declares, exceeds a configured limit.
    case tooLarge(String = "")
    /// The frame's format version is not one this build reads.
    case badVersion(String = "")
    /// The frame names a key id that is not in the keyring.
    case unknownKey(String = "")
    /// The frame's HMAC does not match its contents.
    case badSignature(String = "")
    /// AES-GCM refused the ciphertext: wrong key, nonce, associated data or tag.
    case decryptFailed(String = "")
    /// The compressed body is corrupt, truncated, or does not inflate to its declared size.
    case decompressFailed(String = "")
    /// The frame was seen before, is older than the replay window, or has a timestamp
    /// outside the accepted clock range.
    case replay(String = "")
    /// The frame or a message inside it has a type this build does not know.
    case unknownType(String = "")
    /// A field could not be decoded (bad varint, invalid UTF-8, value out of range).
    case decodeError(String = "")

    /// The snake_case label used for the drop counter and in logs.
    package var reason: String {
        switch self {
        case .truncated: "truncated"
        case .tooLarge: "too_large"
        case .badVersion: "bad_version"
        case .unknownKey: "unknown_key"
        case .badSignature: "bad_signature"
        case .decryptFailed: "decrypt_failed"
        case .decompressFailed: "decompress_failed"
        case .replay: "replay"
        case .unknownType: "unknown_type"
        case .decodeError: "decode_error"
        }
    }

    /// The free-form detail, empty when none was given.
    package var detail: String {
        switch self {
        case .truncated(let text), .tooLarge(let text), .badVersion(let text), .unknownKey(let text),
            .badSignature(let text), .decryptFailed(let text), .decompressFailed(let text), .replay(let text),
            .unknownType(let text), .decodeError(let text):
            text
        }
    }

    package var description: String {
        detail.isEmpty ? reason : "\(reason): \(detail)"
    }
}
