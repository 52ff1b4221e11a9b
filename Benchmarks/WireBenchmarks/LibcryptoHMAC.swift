import COpenSSL

/// libcrypto's own HMAC-SHA256 through EVP_MAC with the key prepared once: the "raw HMAC"
/// every frame rate is compared with. The codec signs with `HMACKey`, which computes the
/// same tags on libcrypto's SHA-256 context functions without EVP (docs/wire.md).
final class LibcryptoHMAC {
    private let context: OpaquePointer

    init(_ key: [UInt8]) {
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil), let context = EVP_MAC_CTX_new(mac) else {
            fatalError("libcrypto has no HMAC")
        }
        self.context = context
        let status = "digest".withCString { name in
            var digest = Array("SHA256".utf8CString)
            return digest.withUnsafeMutableBufferPointer { digestName in
                var parameters = [
                    OSSL_PARAM_construct_utf8_string(name, digestName.baseAddress, 0), OSSL_PARAM_construct_end(),
                ]
                return key.withUnsafeBufferPointer { EVP_MAC_init(context, $0.baseAddress, $0.count, &parameters) }
            }
        }
        precondition(status == 1 && !key.isEmpty, "EVP_MAC_init failed")
    }

    deinit { EVP_MAC_CTX_free(context) }

    /// Writes the tag of `message` into `output` (32 bytes).
    func authenticate(_ message: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) {
        // Initialising without a key restarts from the prepared pads.
        var length = 0
        let ok =
            EVP_MAC_init(context, nil, 0, nil) == 1
            && EVP_MAC_update(context, message.baseAddress!.assumingMemoryBound(to: UInt8.self), message.count) == 1
            && EVP_MAC_final(context, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &length, 32) == 1
        precondition(ok && length == 32, "HMAC failed")
    }
}
