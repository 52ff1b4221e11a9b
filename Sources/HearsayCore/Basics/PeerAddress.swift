/// Where a node can be reached, as `host:port`.
///
/// The core treats it as an opaque label that it hands back in `send` effects; the
/// node runtime resolves it and the simulator uses it as a key.
public struct PeerAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The address as `host:port` (IPv6 hosts in brackets).
    public let rawValue: String

    /// Creates an address from its textual form.
    public init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    public static func < (lhs: PeerAddress, rhs: PeerAddress) -> Bool { lhs.rawValue < rhs.rawValue }
}
