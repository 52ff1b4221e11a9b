/// The keys one keyring key yields: a MAC key for HMAC-SHA256 and an AES-256-GCM key,
/// derived with HMAC so that the two uses never share a key.
final class FrameKeys {
    /// The keyring key's id, carried in each frame's header.
    let id: KeyID
    /// Prepared HMAC-SHA256 context for the MAC key.
    let mac: HMACKey
    /// The 32-byte AES-256-GCM key.
    let encryption: [UInt8]

    init(_ key: [UInt8]) {
        id = KeyID(of: key)
        mac = HMACKey(HMACSHA256.authenticate(Array("hearsay/v1/frame-mac".utf8), key: key))
        encryption = HMACSHA256.authenticate(Array("hearsay/v1/aes-256-gcm".utf8), key: key)
    }
}
