import COpenSSL

/// HMAC-SHA256 (RFC 2104, FIPS 198-1) through libcrypto.
///
/// The one-shot functions here prepare the key for every call. For per-frame signing
/// and verification hold an `HMACKey`, which prepares the key once and does not allocate
/// per message.
package enum HMACSHA256 {
    /// The length of a tag in bytes.
    package static let byteCount = 32

    /// The 32-byte HMAC-SHA256 tag of `message` under `key` (any length; RFC 2104 hashes
    /// keys longer than the block size).
    package static func authenticate(_ message: UnsafeRawBufferPointer, key: [UInt8]) -> [UInt8] {
        HMACKey(key).authenticate(message)
    }

    /// The tag of `message` under `key` computed by libcrypto's own HMAC (`HMAC()`, through
    /// its EVP provider). Frames use `HMACKey`; this is the reference it is tested and
    /// benchmarked against. The first call loads libcrypto's provider tables.
    package static func libcryptoTag(_ message: UnsafeRawBufferPointer, key: [UInt8]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: byteCount) { output, initialized in
            var length: UInt32 = 0
            let result = key.withUnsafeBytes { keyBytes in
                // A nil key pointer reads as "no key given" to libcrypto, unlike an empty key.
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1) { empty in
                    HMAC(
                        EVP_sha256(), keyBytes.baseAddress ?? UnsafeRawPointer(empty.baseAddress!),
                        Int32(keyBytes.count), message.baseAddress?.assumingMemoryBound(to: UInt8.self),
                        message.count, output.baseAddress, &length)
                }
            }
            precondition(result != nil && length == byteCount, "HMAC failed: \(LibCrypto.lastError())")
            initialized = byteCount
        }
    }

    /// The 32-byte HMAC-SHA256 tag of `message` under `key`.
    package static func authenticate(_ message: some Collection<UInt8>, key: [UInt8]) -> [UInt8] {
        if let tag = message.withContiguousStorageIfAvailable({
            authenticate(UnsafeRawBufferPointer($0), key: key)
        }) {
            return tag
        }
        return Array(message).withUnsafeBytes { authenticate($0, key: key) }
    }

    /// Whether `a` and `b` hold the same bytes, in time that depends only on their lengths,
    /// so a forger cannot learn a valid tag byte by byte from response timing.
    package static func constantTimeEquals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        // Lengths are public (tags have a fixed size), so an early return on them leaks nothing.
        guard a.count == b.count else { return false }
        guard let left = a.baseAddress, let right = b.baseAddress else { return true }
        return CRYPTO_memcmp(left, right, a.count) == 0
    }

    /// Whether `a` and `b` hold the same bytes, compared in constant time.
    package static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.withUnsafeBytes { left in b.withUnsafeBytes { right in constantTimeEquals(left, right) } }
    }
}
