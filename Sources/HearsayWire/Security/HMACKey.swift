import COpenSSL

/// An HMAC-SHA256 key prepared once for signing and verifying many messages.
///
/// Preparing the key hashes the inner and outer pads (RFC 2104) with libcrypto's SHA-256;
/// each message then costs its own compression rounds and two more, with no allocation,
/// which is what lets a node check every frame. The construction is checked against
/// libcrypto's own HMAC (`HMACSHA256.libcryptoTag`) in the tests.
///
/// The prepared states are never changed after `init`: every message starts from a copy,
/// so one key may be used from any number of threads at once.
package final class HMACKey: Sendable {
    /// The key id of the key this was prepared from.
    package let id: KeyID

    /// SHA-256 state after absorbing the key XOR ipad, and after the key XOR opad.
    private let inner: SHA256_CTX
    private let outer: SHA256_CTX

    /// Prepares `key` (any length; keys longer than a SHA-256 block are hashed first).
    package init(_ key: [UInt8]) {
        id = KeyID(of: key)
        var block = [UInt8](repeating: 0, count: Self.blockSize)
        if key.count > Self.blockSize {
            block.replaceSubrange(0..<SHA256.byteCount, with: SHA256.hash(key))
        } else {
            block.replaceSubrange(0..<key.count, with: key)
        }
        inner = Self.absorb(block.map { $0 ^ 0x36 })
        outer = Self.absorb(block.map { $0 ^ 0x5c })
    }

    private static let blockSize = 64

    private static func absorb(_ pad: [UInt8]) -> SHA256_CTX {
        var context = SHA256_CTX()
        // The low-level SHA-256 calls cannot fail on a valid context; they return 1.
        _ = SHA256_Init(&context)
        _ = pad.withUnsafeBytes { SHA256_Update(&context, $0.baseAddress, $0.count) }
        return context
    }

    /// Writes the tag of `first` followed by `second` into `output` (32 bytes), as if the
    /// two were one message, so a frame's header and body need not be concatenated.
    package func authenticate(
        _ first: UnsafeRawBufferPointer,
        _ second: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
        into output: UnsafeMutableRawBufferPointer
    ) {
        precondition(output.count >= HMACSHA256.byteCount, "HMAC output buffer shorter than 32 bytes")
        let digest = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var context = inner
        if let base = first.baseAddress, first.count > 0 { _ = SHA256_Update(&context, base, first.count) }
        if let base = second.baseAddress, second.count > 0 { _ = SHA256_Update(&context, base, second.count) }
        // The inner digest goes to `output` first, then is hashed into the outer one there.
        _ = SHA256_Final(digest, &context)
        context = outer
        _ = SHA256_Update(&context, digest, HMACSHA256.byteCount)
        _ = SHA256_Final(digest, &context)
    }

    /// The 32-byte tag of `first` followed by `second`.
    package func authenticate(
        _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)
    ) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: HMACSHA256.byteCount) { output, initialized in
            authenticate(first, second, into: UnsafeMutableRawBufferPointer(output))
            initialized = HMACSHA256.byteCount
        }
    }

    /// The 32-byte tag of `message`.
    package func authenticate(_ message: [UInt8]) -> [UInt8] {
        message.withUnsafeBytes { authenticate($0) }
    }

    /// Whether `tag` is the tag of `first` followed by `second`, compared in constant time.
    /// Allocates nothing: the expected tag is computed on the stack.
    package func isValid(
        tag: UnsafeRawBufferPointer, for first: UnsafeRawBufferPointer,
        _ second: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)
    ) -> Bool {
        guard tag.count == HMACSHA256.byteCount else { return false }
        return withUnsafeTemporaryAllocation(byteCount: HMACSHA256.byteCount, alignment: 8) { expected in
            authenticate(first, second, into: expected)
            return HMACSHA256.constantTimeEquals(UnsafeRawBufferPointer(expected), tag)
        }
    }

    /// Whether `tag` is the tag of `message`, compared in constant time.
    package func isValid(tag: [UInt8], for message: [UInt8]) -> Bool {
        tag.withUnsafeBytes { tagBytes in message.withUnsafeBytes { isValid(tag: tagBytes, for: $0) } }
    }
}
