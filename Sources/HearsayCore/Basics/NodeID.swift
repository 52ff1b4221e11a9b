/// The stable name of a node in the cluster.
///
/// A node keeps its name across restarts and address changes; the name, not the
/// address, identifies it in the member table and in vector clocks.
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The name as given.
    public let rawValue: String

    /// The longest accepted name, in UTF-8 bytes.
    public static let maxLength = 128

    /// Creates a node id after checking that the name is 1 to 128 bytes of printable
    /// ASCII without spaces, so it is safe in logs, URLs and wire frames.
    public init(_ rawValue: String) throws(ValidationError) {
        guard !rawValue.isEmpty, rawValue.utf8.count <= Self.maxLength else {
            throw ValidationError(
                setting: "node id", value: rawValue, allowed: "1 to \(Self.maxLength) bytes")
        }
        guard rawValue.utf8.allSatisfy(ByteRule.isNodeIDByte) else {
            throw ValidationError(
                setting: "node id", value: rawValue, allowed: "printable ASCII without spaces")
        }
        self.rawValue = rawValue
    }

    /// Creates a node id from a name that is known to be valid (decoded and checked
    /// elsewhere, or built by the simulator). Not public: a library user's names go
    /// through `init(_:)`'s validation.
    package init(unchecked rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    public static func < (lhs: NodeID, rhs: NodeID) -> Bool { lhs.rawValue < rhs.rawValue }
}
