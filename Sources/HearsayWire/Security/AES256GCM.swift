import COpenSSL

/// AES-256-GCM authenticated encryption (NIST SP 800-38D) through libcrypto.
///
/// The sealed form is the ciphertext followed by the 16-byte tag. A nonce must never repeat
/// under one key: GCM with a repeated nonce leaks the XOR of plaintexts and lets an attacker
/// forge tags. `seal(_:key:aad:)` therefore draws a fresh random 12-byte nonce per frame;
/// at 2^32 frames per key the collision chance stays below NIST's 2^-32 bound.
package enum AES256GCM {
    /// The key length in bytes.
    package static let keyByteCount = 32
    /// The nonce (IV) length in bytes; 12 is the length GCM handles without extra hashing.
    package static let nonceByteCount = 12
    /// The tag length in bytes; the full tag, never truncated.
    package static let tagByteCount = 16

    /// Encrypts `plaintext` under a fresh random nonce, authenticating `aad` too.
    /// Returns the nonce (which the frame must carry) and the ciphertext with its tag.
    package static func seal(
        _ plaintext: [UInt8], key: [UInt8], aad: [UInt8] = []
    ) -> (nonce: [UInt8], sealed: [UInt8]) {
        let nonce = SecureRandom.bytes(count: nonceByteCount)
        return (nonce, seal(plaintext, key: key, nonce: nonce, aad: aad))
    }

    /// Encrypts `plaintext` under `nonce` (12 bytes, never reused with this key),
    /// authenticating `aad` too. Returns the ciphertext followed by the 16-byte tag.
    ///
    /// Keys and nonces are produced locally, so a wrong length is a programming error and traps.
    package static func seal(_ plaintext: [UInt8], key: [UInt8], nonce: [UInt8], aad: [UInt8] = []) -> [UInt8] {
        precondition(key.count == keyByteCount, "AES-256-GCM key must be 32 bytes, got \(key.count)")
        precondition(nonce.count == nonceByteCount, "AES-256-GCM nonce must be 12 bytes, got \(nonce.count)")
        precondition(plaintext.count <= Int(Int32.max) - tagByteCount && aad.count <= Int32.max, "input too large")
        let context = newCipherContext()
        defer { EVP_CIPHER_CTX_free(context) }
        return [UInt8](unsafeUninitializedCapacity: plaintext.count + tagByteCount) { output, initialized in
            var ok = key.withUnsafeBufferPointer { keyBytes in
                nonce.withUnsafeBufferPointer { nonceBytes in
                    EVP_EncryptInit_ex2(
                        context, LibCrypto.shared.aes256GCM, keyBytes.baseAddress, nonceBytes.baseAddress, nil)
                        == 1
                }
            }
            var length: Int32 = 0
            if ok, !aad.isEmpty {
                ok = EVP_EncryptUpdate(context, nil, &length, aad, Int32(aad.count)) == 1
            }
            var written = 0
            if ok, !plaintext.isEmpty {
                ok = EVP_EncryptUpdate(context, output.baseAddress, &length, plaintext, Int32(plaintext.count)) == 1
                written = Int(length)
            }
            if ok {
                ok = EVP_EncryptFinal_ex(context, output.baseAddress! + written, &length) == 1
                written += Int(length)
            }
            if ok {
                ok =
                    EVP_CIPHER_CTX_ctrl(
                        context, EVP_CTRL_GCM_GET_TAG, Int32(tagByteCount), output.baseAddress! + written) == 1
            }
            // With valid lengths only allocation failure can get here; there is no safe fallback.
            precondition(ok && written == plaintext.count, "AES-256-GCM seal failed: \(LibCrypto.lastError())")
            initialized = plaintext.count + tagByteCount
        }
    }

    /// Decrypts `sealed` (ciphertext followed by tag) and checks the tag over the ciphertext
    /// and `aad`. Throws `WireError.decryptFailed` when anything does not match; no plaintext
    /// is returned unless the whole message authenticated.
    package static func open(
        _ sealed: [UInt8], key: [UInt8], nonce: [UInt8], aad: [UInt8] = []
    ) throws(WireError) -> [UInt8] {
        guard key.count == keyByteCount else { throw .decryptFailed("key is \(key.count) bytes, expected 32") }
        guard nonce.count == nonceByteCount else {
            throw .decryptFailed("nonce is \(nonce.count) bytes, expected 12")
        }
        guard sealed.count >= tagByteCount else { throw .decryptFailed("shorter than the 16-byte tag") }
        guard sealed.count <= Int32.max, aad.count <= Int32.max else { throw .tooLarge("sealed message") }
        let ciphertextCount = sealed.count - tagByteCount
        let context = newCipherContext()
        defer { EVP_CIPHER_CTX_free(context) }
        var ok = true
        let plaintext = [UInt8](unsafeUninitializedCapacity: ciphertextCount) { output, initialized in
            ok = key.withUnsafeBufferPointer { keyBytes in
                nonce.withUnsafeBufferPointer { nonceBytes in
                    EVP_DecryptInit_ex2(
                        context, LibCrypto.shared.aes256GCM, keyBytes.baseAddress, nonceBytes.baseAddress, nil)
                        == 1
                }
            }
            var length: Int32 = 0
            if ok, !aad.isEmpty {
                ok = EVP_DecryptUpdate(context, nil, &length, aad, Int32(aad.count)) == 1
            }
            var written = 0
            sealed.withUnsafeBufferPointer { input in
                if ok, ciphertextCount > 0 {
                    ok =
                        EVP_DecryptUpdate(
                            context, output.baseAddress, &length, input.baseAddress, Int32(ciphertextCount)) == 1
                    written = Int(length)
                }
                if ok {
                    // libcrypto only reads the expected tag, despite the mutable pointer type.
                    let tag = UnsafeMutableRawPointer(mutating: input.baseAddress! + ciphertextCount)
                    ok = EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(tagByteCount), tag) == 1
                }
            }
            if ok {
                ok = EVP_DecryptFinal_ex(context, output.baseAddress.map { $0 + written }, &length) == 1
                written += Int(length)
            }
            ok = ok && written == ciphertextCount
            // Unauthenticated plaintext is never returned; zero it so it does not linger in freed memory.
            if !ok, ciphertextCount > 0 {
                output.initialize(repeating: 0)
            }
            initialized = ciphertextCount
        }
        guard ok else {
            ERR_clear_error()
            throw .decryptFailed("authentication tag mismatch")
        }
        return plaintext
    }

    private static func newCipherContext() -> OpaquePointer {
        guard let context = EVP_CIPHER_CTX_new() else {
            fatalError("EVP_CIPHER_CTX_new failed: \(LibCrypto.lastError())")
        }
        return context
    }
}
