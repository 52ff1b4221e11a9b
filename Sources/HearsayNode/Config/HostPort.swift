import HearsayCore

/// A host and a port as written in settings: `10.0.0.5:7946`, `[fd00::5]:7946`,
/// `hearsay.default.svc:7946`, or a host alone when a default port applies.
package struct HostPort: Hashable, Sendable, CustomStringConvertible {
    /// An IPv4 or IPv6 address, or a host name.
    package var host: String
    /// The port, 0 to 65535 (0 binds any free port).
    package var port: Int

    /// Creates a host and port.
    package init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `text`; `defaultPort` applies when the text names no port.
    package init(parsing text: String, defaultPort: Int?, setting: String) throws(ValidationError) {
        func bad(_ why: String) -> ValidationError {
            ValidationError(setting: setting, value: text, allowed: "host:port, [ipv6]:port or a host name (\(why))")
        }
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw bad("missing ]") }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw bad("text after ]") }
                portText = rest.dropFirst()
            }
        } else if text.filter({ $0 == ":" }).count > 1 {
            host = Substring(text)  // a bare IPv6 address
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            host = Substring(text)
        }
        guard !host.isEmpty else { throw bad("empty host") }
        guard host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }) else {
            throw bad("invalid characters in the host")
        }
        let port: Int
        if let portText {
            guard let value = Int(portText), (0...65535).contains(value) else { throw bad("port 0 to 65535") }
            port = value
        } else if let defaultPort {
            port = defaultPort
        } else {
            throw bad("missing port")
        }
        self.host = String(host)
        self.port = port
    }

    /// Whether the host is an IPv6 address.
    package var isIPv6: Bool { host.contains(":") }

    package var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// As the core's opaque peer address.
    package var peerAddress: PeerAddress { PeerAddress(description) }
}
