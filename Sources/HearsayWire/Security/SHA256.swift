import COpenSSL

/// SHA-256 through libcrypto, for key ids; frames are authenticated with `HMACSHA256`.
public enum SHA256 {
    /// The digest length in bytes.
    public static let byteCount = 32

    /// The SHA-256 digest of `data`.
    public static func hash(_ data: [UInt8]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: byteCount) { output, initialized in
            var length: UInt32 = 0
            let status = data.withUnsafeBytes { input in
                EVP_Digest(input.baseAddress, input.count, output.baseAddress, &length, LibCrypto.shared.sha256, nil)
            }
            // Only allocation failure makes a one-shot digest fail.
            precondition(status == 1 && length == byteCount, "EVP_Digest failed: \(LibCrypto.lastError())")
            initialized = byteCount
        }
    }
}
