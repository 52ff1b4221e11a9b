import HearsayCore

/// A frame that passed every check: who sent it, when, how it travelled, and its messages.
public struct Frame: Sendable, Equatable {
    /// The sending node.
    public var sender: NodeID
    /// The sender's frame counter, for the replay window.
    public var sequence: UInt64
    /// When it was sealed, by the sender's clock, in milliseconds since 1970.
    public var timestampMillis: Int64
    /// Which key signed it.
    public var keyID: KeyID
    /// Whether the body was encrypted.
    public var encrypted: Bool
    /// Whether the body was compressed.
    public var compressed: Bool
    /// The body's length before compression (when compressed).
    public var originalSize: Int
    /// The messages.
    public var messages: [GossipMessage]
}

/// Frame layout constants; `docs/wire.md` draws the layout.
public enum FrameLayout {
    /// Flag bit: the body is AES-256-GCM ciphertext with its tag.
    public static let encryptedFlag: UInt8 = 1
    /// Flag bit: the body (before any encryption) is zlib-compressed.
    public static let compressedFlag: UInt8 = 2
    /// Bytes of the HMAC-SHA256 trailer.
    public static let macBytes = HMACSHA256.byteCount

    /// The most bytes a frame from `sender` spends outside its messages, with every
    /// option on: version, flags, key id, sender, sequence and timestamp varints at
    /// their longest, original size, nonce, GCM tag and HMAC. The node reserves this
    /// much of each datagram (`EngineConfig.frameOverheadBytes`).
    public static func maxOverhead(sender: NodeID) -> Int {
        1 + 1 + KeyID.byteCount + WireSize.string(sender.rawValue) + 10 + 10 + 5 + AES256GCM.nonceByteCount
            + AES256GCM.tagByteCount + macBytes
    }
}
