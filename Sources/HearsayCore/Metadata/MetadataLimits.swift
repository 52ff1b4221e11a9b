/// Bounds on what one metadata entry may hold, checked on local writes and on every
/// version that arrives from a peer, so no peer can make a node hold more than this.
public struct MetadataLimits: Equatable, Sendable {
    /// The longest canonical JSON value, in bytes.
    public var maxValueBytes = 65_536
    /// The deepest nesting of a value.
    public var maxValueDepth = 32
    /// How many roles an entry may list.
    public var maxRoles = 32
    /// How many replication nodes an entry may list.
    public var maxReplicationNodes = 64
    /// The longest role or replication node name, in bytes.
    public var maxNameBytes = 128
    /// How many nodes one vector clock may count (distinct writers of one entry).
    public var maxClockEntries = 1024
    /// How many concurrent siblings one entry may hold before further ones are refused.
    public var maxSiblings = 32
    /// How many entries the store may hold, tombstones included.
    public var maxEntries = 1_000_000

    /// The defaults.
    public init() {}

    /// Checks each limit against its allowed range.
    public func validate() throws(ValidationError) {
        func check(_ ok: Bool, _ setting: String, _ value: Int, _ allowed: String)
            throws(ValidationError)
        {
            if !ok { throw ValidationError(setting: setting, value: "\(value)", allowed: allowed) }
        }
        try check(
            (1...16_777_216).contains(maxValueBytes), "max value bytes", maxValueBytes, "1 to 16777216")
        try check(
            (1...JSONValue.maxDepth).contains(maxValueDepth), "max value depth", maxValueDepth, "1 to 64")
        try check((0...1024).contains(maxRoles), "max roles", maxRoles, "0 to 1024")
        try check(
            (0...1024).contains(maxReplicationNodes), "max replication nodes", maxReplicationNodes,
            "0 to 1024")
        try check((1...1024).contains(maxNameBytes), "max name bytes", maxNameBytes, "1 to 1024")
        try check(
            (1...65_536).contains(maxClockEntries), "max clock entries", maxClockEntries, "1 to 65536")
        try check((2...1024).contains(maxSiblings), "max siblings", maxSiblings, "2 to 1024")
        try check((1...100_000_000).contains(maxEntries), "max entries", maxEntries, "1 to 100000000")
    }
}

/// Why a metadata write or a version from a peer was refused.
public enum MetadataError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The value's canonical text is longer than allowed.
    case valueTooLarge(bytes: Int, limit: Int)
    /// The value nests deeper than allowed.
    case valueTooDeep(depth: Int, limit: Int)
    /// The value holds NaN or an infinity, which JSON cannot carry.
    case nonFiniteNumber
    /// A received value is not valid JSON.
    case badValue(String)
    /// Too many roles or replication nodes, or one name too long.
    case listTooLong(field: String, count: Int, limit: Int)
    /// A role or replication node name is empty or too long.
    case badName(field: String, name: String)
    /// `conflicted` describes an entry with siblings; nobody writes it.
    case conflictedIsNotWritable
    /// A deleted entry carries no value.
    case valueOnTombstone
    /// The store holds `maxEntries` already.
    case storeFull(limit: Int)
    /// The entry holds `maxSiblings` concurrent versions already.
    case tooManySiblings(limit: Int)
    /// A version's clock is empty or counts too many nodes.
    case badClock(entries: Int, limit: Int)
    /// A version's checksum or size does not match its content.
    case badChecksum

    public var description: String {
        switch self {
        case .valueTooLarge(let bytes, let limit):
            "value is \(bytes) bytes, more than the limit of \(limit)"
        case .valueTooDeep(let depth, let limit):
            "value nests \(depth) deep, more than the limit of \(limit)"
        case .nonFiniteNumber: "value holds a number that JSON cannot carry (NaN or infinity)"
        case .badValue(let problem): "value is not valid JSON: \(problem)"
        case .listTooLong(let field, let count, let limit):
            "\(field) has \(count) items, more than the limit of \(limit)"
        case .badName(let field, let name): "\(field) name '\(name)' is empty or too long"
        case .conflictedIsNotWritable:
            "status 'conflicted' cannot be written; write active, deprecated or deleted"
        case .valueOnTombstone: "a deleted entry carries no value"
        case .storeFull(let limit): "the store holds its limit of \(limit) entries"
        case .tooManySiblings(let limit): "the entry holds its limit of \(limit) concurrent versions"
        case .badClock(let entries, let limit):
            "vector clock has \(entries) nodes; allowed 1 to \(limit)"
        case .badChecksum: "checksum does not match the content"
        }
    }
}
