import HearsayCore

extension Frame {
    /// The frame for people: its header and each message with the Go original's field names.
    /// `signature` says whether the HMAC was checked.
    package func json(signatureChecked: Bool) -> JSONValue {
        .object([
            "version": .number(Double(WireLimits.protocolVersion)), "sender_id": .string(sender.rawValue),
            "sequence": .number(Double(sequence)),
            "timestamp": .string(Instant(nanoseconds: timestampMillis &* 1_000_000).rfc3339),
            "key_id": .string(keyID.description), "encrypted": .bool(encrypted), "compressed": .bool(compressed),
            "original_size": .number(Double(originalSize)),
            "signature": .string(signatureChecked ? "valid" : "not checked"),
            "messages": .array(messages.map(\.json)),
        ])
    }
}
