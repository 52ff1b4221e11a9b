import HearsayCore

/// A frame that passed every check: who sent it, when, how it travelled, and its messages.
package struct Frame: Sendable, Equatable {
    /// The sending node.
    package var sender: NodeID
    /// The sender's frame counter, for the replay window.
    package var sequence: UInt64
    /// When it was sealed, by the sender's clock, in milliseconds since 1970.
    package var timestampMillis: Int64
    /// Which key signed it.
    package var keyID: KeyID
    /// Whether the body was encrypted.
    package var encrypted: Bool
    /// Whether the body was compressed.
    package var compressed: Bool
    /// The body's length before compression (when compressed).
    package var originalSize: Int
    /// The messages.
    package var messages: [GossipMessage]
}

/// Frame layout constants; `docs/wire.md` draws the layout.
package enum FrameLayout {
    /// Flag bit: the body is AES-256-GCM ciphertext with its tag.
    package static let encryptedFlag: UInt8 = 1
    /// Flag bit: the body (before any encryption) is zlib-compressed.
    package static let compressedFlag: UInt8 = 2
    /// Bytes of the HMAC-SHA256 trailer.
    package static let macBytes = HMACSHA256.byteCount

    /// The most bytes a frame from `sender` spends outside its messages, with every
    /// option on: version, flags, key id, sender, sequence and timestamp varints at
    /// their longest, original size, nonce, GCM tag and HMAC. The node reserves this
    /// much of each datagram (`DisseminationSettings.frameOverheadBytes`).
    package static func maxOverhead(sender: NodeID) -> Int {
        // The header as `FrameCodec` writes it, each varint at its longest (an inflated
        // size is capped far below 4 GiB), then what encryption and signing add.
        let header =
            2 + KeyID.byteCount + WireSize.string(sender.rawValue) + WireSize.varint(UInt64.max)
            + WireSize.zigzag(Int64.min) + WireSize.varint(UInt64(UInt32.max))
        return header + AES256GCM.nonceByteCount + AES256GCM.tagByteCount + macBytes
    }
}
