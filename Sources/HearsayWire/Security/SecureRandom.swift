import COpenSSL

#if canImport(Glibc)
    import Glibc
#endif

/// Cryptographically secure random bytes from the kernel (`getrandom(2)`), the source
/// libcrypto's own generator seeds from; asking the kernel directly keeps libcrypto's
/// generator, and the provider tables it needs, out of an agent that does not encrypt.
package enum SecureRandom {
    /// `count` fresh random bytes.
    package static func bytes(count: Int) -> [UInt8] {
        precondition(count >= 0, "negative byte count")
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            fill(UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }

    /// Overwrites `buffer` with fresh random bytes, so a caller can fill a nonce in place.
    package static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        var filled = 0
        while filled < buffer.count {
            // Blocks only until the kernel's pool is first seeded at boot; large requests
            // may come back short, and a signal may interrupt one.
            let n = getrandom(base + filled, buffer.count - filled, 0)
            if n > 0 {
                filled += n
            } else if errno != EINTR {
                // Continuing would reuse predictable nonces and keys, which is worse than stopping.
                fatalError("getrandom failed: errno \(errno)")
            }
        }
    }
}
