/// A cluster key sent to a member in a keyring request (`KeyringRequest.sealedKey`):
/// sealed with AES-256-GCM under a key derived from the key that signs the request's
/// frame, which the member must hold to believe the request at all. Frames are signed
/// but not always encrypted; sealed, the key is never readable on the network.
///
/// What it cannot do is keep a new key from someone who holds the signing key: in-band
/// rotation retires a key on schedule. A key known to be leaked is replaced out of band
/// (each agent's keyring file), as with serf, whose key queries travel the same way.
package enum KeyTransfer {
    /// `key` sealed under `signingKey` for request `id` doing `operation`: the nonce,
    /// then the ciphertext and its tag. The request's id and operation are bound to it,
    /// so a sealed key cannot be lifted into another request.
    package static func seal(_ key: [UInt8], under signingKey: [UInt8], id: UInt64, operation: UInt8) -> [UInt8] {
        let nonce = SecureRandom.bytes(count: AES256GCM.nonceByteCount)
        return nonce
            + AES256GCM.seal(
                key, key: transferKey(signingKey), nonce: nonce, aad: context(id: id, operation: operation))
    }

    /// The key `seal` sealed, or the reason it cannot be had.
    package static func open(_ sealed: [UInt8], under signingKey: [UInt8], id: UInt64, operation: UInt8)
        throws(WireError) -> [UInt8]
    {
        guard sealed.count > AES256GCM.nonceByteCount else { throw .decryptFailed("a sealed key too short") }
        let nonce = Array(sealed.prefix(AES256GCM.nonceByteCount))
        return try AES256GCM.open(
            Array(sealed.dropFirst(AES256GCM.nonceByteCount)), key: transferKey(signingKey), nonce: nonce,
            aad: context(id: id, operation: operation))
    }

    private static func transferKey(_ signingKey: [UInt8]) -> [UInt8] {
        HMACSHA256.authenticate(Array("hearsay/v1/keyring-transfer".utf8), key: signingKey)
    }

    private static func context(id: UInt64, operation: UInt8) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: id >> (56 - 8 * $0)) } + [operation]
    }
}
