/// Everything the store holds for one address: one version, or several concurrent
/// siblings while the entry is conflicted.
public struct MetadataEntry: Hashable, Sendable {
    /// The entry's address.
    public let address: MetadataAddress
    /// The versions, ordered by checksum so that every node lists them alike.
    public let versions: [ContextMetadata]
    /// A hash of the versions held, equal on two nodes exactly when they hold the same.
    package let entryHash: UInt64
    /// The stable hash of the address, which places the entry in an anti-entropy bucket.
    package let addressHash: UInt64

    /// Creates an entry from one or more versions of `address`.
    init(address: MetadataAddress, versions: [ContextMetadata]) {
        precondition(!versions.isEmpty, "an entry holds at least one version")
        self.address = address
        self.versions = versions.sorted { $0.checksum < $1.checksum }
        var h = StableHash()
        h.combine(address.rawValue)
        for v in self.versions { h.combine(v.checksum) }
        self.entryHash = h.finalize()
        self.addressHash = StableHash.of(address.rawValue)
    }

    /// `conflicted` while siblings are kept, else the status of the one version.
    public var status: MetadataStatus {
        versions.count > 1 ? .conflicted : versions[0].status
    }

    /// The clock that has seen every version held: a write with it resolves a conflict.
    public var mergedClock: VectorClock {
        versions.dropFirst().reduce(versions[0].vectorClock) { $0.merged(with: $1.vectorClock) }
    }

    /// The newest write among the versions, by the writers' clocks.
    public var lastUpdated: Instant {
        versions.map(\.lastUpdated).max()!
    }

    /// Encoded length of all versions.
    package var wireSize: Int { versions.reduce(0) { $0 + $1.wireSize } }
}
