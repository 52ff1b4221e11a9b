import COpenSSL
import HearsayCore

/// The EVP algorithm Hearsay uses, fetched once from the default provider.
///
/// OpenSSL 3 looks an algorithm up by name on every use of `EVP_aes_256_gcm()`-style
/// handles ("implicit fetch"), which costs a locked table lookup per call; fetching once
/// keeps that off the per-frame path. `shared` is a lazy static, so the provider tables
/// are loaded the first time a frame is encrypted or decrypted, never in an agent that
/// does neither (HMAC and SHA-256 use libcrypto's SHA-256 functions directly).
///
/// `@unchecked Sendable` is safe because a fetched `EVP_CIPHER` is immutable, OpenSSL
/// documents it as shareable between threads, and it is never freed (it lives as long as
/// the process).
struct LibCrypto: @unchecked Sendable {
    let aes256GCM: OpaquePointer

    static let shared = LibCrypto()

    private init() {
        guard let aes256GCM = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil) else {
            // Without it no encrypted frame can be sealed or opened; running in clear is not an option.
            fatalError("libcrypto does not provide AES-256-GCM: \(LibCrypto.lastError())")
        }
        self.aes256GCM = aes256GCM
    }

    /// The most recent libcrypto error as text, for messages on failures that should not happen.
    static func lastError() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "no libcrypto error queued" }
        var text = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &text, text.count)
        return String(nulTerminated: text)
    }
}
