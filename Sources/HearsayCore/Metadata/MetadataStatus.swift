/// The Go original's statuses of a metadata entry.
///
/// `active`, `deprecated` and `deleted` are written; `conflicted` is what an entry is
/// while it holds concurrent siblings, and is never written by a client.
public enum MetadataStatus: String, Hashable, Sendable, CaseIterable, Codable {
    case active
    case deprecated
    case deleted
    case conflicted

    /// The byte that stands for the status on the wire.
    public var wireCode: UInt8 {
        switch self {
        case .active: 0
        case .deprecated: 1
        case .deleted: 2
        case .conflicted: 3
        }
    }

    /// The status a wire byte stands for, nil when unknown.
    public init?(wireCode: UInt8) {
        guard let status = Self.allCases.first(where: { $0.wireCode == wireCode }) else { return nil }
        self = status
    }
}
