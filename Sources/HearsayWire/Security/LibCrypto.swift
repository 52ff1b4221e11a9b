import COpenSSL

/// The libcrypto algorithms Hearsay uses, fetched once from the default provider.
///
/// OpenSSL 3 looks an algorithm up by name on every use of `EVP_sha256()`-style handles
/// ("implicit fetch"), which costs a locked table lookup per call; fetching once keeps that
/// off the per-frame path.
///
/// `@unchecked Sendable` is safe because fetched `EVP_MD`, `EVP_MAC` and `EVP_CIPHER`
/// objects are immutable once fetched, OpenSSL documents them as shareable between threads,
/// and these are never freed (they live as long as the process).
struct LibCrypto: @unchecked Sendable {
    let sha256: OpaquePointer
    let hmac: OpaquePointer
    let aes256GCM: OpaquePointer

    static let shared = LibCrypto()

    private init() {
        guard let sha256 = EVP_MD_fetch(nil, "SHA256", nil),
            let hmac = EVP_MAC_fetch(nil, "HMAC", nil),
            let aes256GCM = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil)
        else {
            // Without these nothing can be signed or verified; running unsigned is not an option.
            fatalError("libcrypto does not provide SHA256, HMAC or AES-256-GCM: \(LibCrypto.lastError())")
        }
        self.sha256 = sha256
        self.hmac = hmac
        self.aes256GCM = aes256GCM
    }

    /// The most recent libcrypto error as text, for messages on failures that should not happen.
    static func lastError() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "no libcrypto error queued" }
        var text = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &text, text.count)
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
