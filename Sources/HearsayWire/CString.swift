/// C interop shared by the wire (OpenSSL's error text) and the node (host names and
/// addresses): the core takes no part in it.
extension String {
    /// The text of a NUL-terminated C buffer filled by a C call (gethostname, inet_ntop,
    /// ERR_error_string_n).
    package init(nulTerminated buffer: [CChar]) {
        self.init(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
