import COpenSSL

/// Cryptographically secure random bytes from libcrypto's DRBG (seeded from the OS).
public enum SecureRandom {
    /// `count` fresh random bytes.
    public static func bytes(count: Int) -> [UInt8] {
        precondition(count >= 0, "negative byte count")
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            fill(UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }

    /// Overwrites `buffer` with fresh random bytes, so a caller can fill a nonce in place.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        precondition(buffer.count <= Int32.max, "random request too large")
        // RAND_bytes fails only when the generator cannot be seeded. Continuing would reuse
        // predictable nonces and keys, which is worse than stopping.
        guard RAND_bytes(base.assumingMemoryBound(to: UInt8.self), Int32(buffer.count)) == 1 else {
            fatalError("RAND_bytes failed: \(LibCrypto.lastError())")
        }
    }
}
