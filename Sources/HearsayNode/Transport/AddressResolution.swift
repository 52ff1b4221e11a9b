import HearsayWire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Recognizing IP address literals without a DNS lookup.
package enum IPAddressText {
    /// Whether `host` is an IPv4 or IPv6 literal.
    package static func isLiteral(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// Whether `host` is an IPv6 address (its text has colons; names and IPv4 do not).
    package static func isIPv6(_ host: String) -> Bool {
        host.contains(":")
    }

    /// Whether `host` is the any-address (`0.0.0.0` or `::`).
    package static func isUnspecified(_ host: String) -> Bool {
        host == "0.0.0.0" || host == "::" || host == "0:0:0:0:0:0:0:0"
    }
}

/// This host's network interfaces.
enum Interfaces {
    /// The first IPv4 address of an interface that is up and not loopback.
    static func firstNonLoopbackIPv4() -> String? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return nil }
        defer { freeifaddrs(list) }
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            let flags = Int32(entry.pointee.ifa_flags)
            guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET),
                flags & Int32(IFF_UP) != 0, flags & Int32(IFF_LOOPBACK) == 0
            else { continue }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            let ok = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 -> Bool in
                var raw = v4.pointee.sin_addr
                return inet_ntop(AF_INET, &raw, &text, socklen_t(text.count)) != nil
            }
            if ok {
                return String(nulTerminated: text)
            }
        }
        return nil
    }
}

/// Name resolution for join addresses: a host name may stand for several nodes (a
/// Kubernetes headless service), so every address it resolves to is a seed.
package enum AddressResolver {
    /// The IP addresses `target` stands for, each with its port; an IP literal is
    /// returned as it is. Blocks while the system resolver works: call it off the event loop.
    package static func resolve(_ target: HostPort) -> Result<[HostPort], ResolutionError> {
        if IPAddressText.isLiteral(target.host) { return .success([target]) }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(target.host, nil, &hints, &result)
        guard status == 0, let first = result else {
            return .failure(ResolutionError(host: target.host, reason: String(cString: gai_strerror(status))))
        }
        defer { freeaddrinfo(result) }
        var found: [HostPort] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ai_next }
            guard let address = entry.pointee.ai_addr else { continue }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            switch Int32(address.pointee.sa_family) {
            case AF_INET:
                address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    var raw = $0.pointee.sin_addr
                    _ = inet_ntop(AF_INET, &raw, &text, socklen_t(text.count))
                }
            case AF_INET6:
                address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    var raw = $0.pointee.sin6_addr
                    _ = inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
                }
            default: continue
            }
            let host = String(nulTerminated: text)
            let resolved = HostPort(host: host, port: target.port)
            if !host.isEmpty && !found.contains(resolved) { found.append(resolved) }
        }
        return found.isEmpty
            ? .failure(ResolutionError(host: target.host, reason: "no addresses")) : .success(found)
    }
}

/// A host name that did not resolve.
package struct ResolutionError: Error, Sendable, CustomStringConvertible {
    package let host: String
    package let reason: String
    package var description: String { "cannot resolve \(host): \(reason)" }
}
