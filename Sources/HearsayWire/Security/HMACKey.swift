import COpenSSL

/// An HMAC-SHA256 key prepared once for signing and verifying many messages.
///
/// Preparing the key hashes the inner and outer pads; each message then costs only its own
/// compression rounds, with no allocation, which is what lets a node check every frame.
///
/// Not thread-safe: the prepared libcrypto context is reused by every call, so the type is
/// deliberately not `Sendable` and the compiler keeps each instance in one isolation domain.
/// Give each task or thread its own `HMACKey`.
public final class HMACKey {
    /// The key id of the key this was prepared from.
    public let id: KeyID

    private let context: OpaquePointer

    /// Prepares `key` (any length).
    public init(_ key: [UInt8]) {
        guard let context = EVP_MAC_CTX_new(LibCrypto.shared.hmac) else {
            fatalError("EVP_MAC_CTX_new failed: \(LibCrypto.lastError())")
        }
        self.context = context
        self.id = KeyID(of: key)
        let status = "digest".withCString { name in
            var digest = Array("SHA256".utf8CString)
            return digest.withUnsafeMutableBufferPointer { digestName in
                var parameters = [
                    OSSL_PARAM_construct_utf8_string(name, digestName.baseAddress, 0),
                    OSSL_PARAM_construct_end(),
                ]
                return key.withUnsafeBytes { keyBytes in
                    // A nil key pointer means "reuse the current key" to libcrypto, unlike an empty key.
                    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1) { empty in
                        let keyStart = keyBytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
                        return EVP_MAC_init(
                            context, keyStart ?? UnsafePointer(empty.baseAddress!), keyBytes.count, &parameters)
                    }
                }
            }
        }
        precondition(status == 1, "EVP_MAC_init failed: \(LibCrypto.lastError())")
    }

    deinit {
        EVP_MAC_CTX_free(context)
    }

    /// Writes the tag of `first` followed by `second` into `output` (32 bytes), as if the
    /// two were one message, so a frame's header and body need not be concatenated.
    public func authenticate(
        _ first: UnsafeRawBufferPointer,
        _ second: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
        into output: UnsafeMutableRawBufferPointer
    ) {
        precondition(output.count >= HMACSHA256.byteCount, "HMAC output buffer shorter than 32 bytes")
        // Re-initialising without a key restarts from the prepared pads.
        var ok = EVP_MAC_init(context, nil, 0, nil) == 1
        if ok, let base = first.baseAddress, first.count > 0 {
            ok = EVP_MAC_update(context, base.assumingMemoryBound(to: UInt8.self), first.count) == 1
        }
        if ok, let base = second.baseAddress, second.count > 0 {
            ok = EVP_MAC_update(context, base.assumingMemoryBound(to: UInt8.self), second.count) == 1
        }
        var length = 0
        if ok {
            ok =
                EVP_MAC_final(
                    context, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &length, HMACSHA256.byteCount)
                == 1
        }
        precondition(ok && length == HMACSHA256.byteCount, "HMAC failed: \(LibCrypto.lastError())")
    }

    /// The 32-byte tag of `first` followed by `second`.
    public func authenticate(
        _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)
    ) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: HMACSHA256.byteCount) { output, initialized in
            authenticate(first, second, into: UnsafeMutableRawBufferPointer(output))
            initialized = HMACSHA256.byteCount
        }
    }

    /// The 32-byte tag of `message`.
    public func authenticate(_ message: [UInt8]) -> [UInt8] {
        message.withUnsafeBytes { authenticate($0) }
    }

    /// Whether `tag` is the tag of `first` followed by `second`, compared in constant time.
    /// Allocates nothing: the expected tag is computed on the stack.
    public func isValid(
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
    public func isValid(tag: [UInt8], for message: [UInt8]) -> Bool {
        tag.withUnsafeBytes { tagBytes in message.withUnsafeBytes { isValid(tag: tagBytes, for: $0) } }
    }
}
