import COpenSSL

/// SHA-256 through libcrypto, for key ids; frames are authenticated with `HMACKey`.
package enum SHA256 {
    /// The digest length in bytes.
    package static let byteCount = 32

    /// The SHA-256 digest of `data`.
    package static func hash(_ data: [UInt8]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: byteCount) { output, initialized in
            // The context functions, not the one-shot `SHA256()`: in OpenSSL 3 that one goes
            // through EVP and loads the provider tables. They cannot fail on a valid context.
            var context = SHA256_CTX()
            _ = SHA256_Init(&context)
            _ = data.withUnsafeBytes { SHA256_Update(&context, $0.baseAddress, $0.count) }
            _ = SHA256_Final(output.baseAddress, &context)
            initialized = byteCount
        }
    }
}
