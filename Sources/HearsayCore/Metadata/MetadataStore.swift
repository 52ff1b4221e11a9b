/// The node's metadata: every entry with its versions, merged by vector clock.
///
/// Merge rules: a version whose clock is dominated by (or equal to) one the store holds
/// is stale; a version that dominates everything held replaces it; a version concurrent
/// with what is held joins it as a sibling and the entry becomes `conflicted`, with no
/// version lost. A local write merges the clocks of all siblings before counting its own
/// write, so it has seen them all and resolves the conflict. The store keeps a running
/// XOR digest of its entries so that anti-entropy can tell equal stores apart in O(1).
public struct MetadataStore: Sendable {
    /// The limits every version is checked against.
    public let limits: MetadataLimits

    private var table: [MetadataAddress: MetadataEntry] = [:]
    private var statusCounts: [MetadataStatus: Int] = [:]
    /// Protocol time of the first reaping pass that saw each tombstone (local only).
    private var tombstonesSeen: [MetadataAddress: Instant] = [:]

    /// XOR of the `entryHash` of every entry: equal stores have equal digests.
    public private(set) var digest: UInt64 = 0
    /// Encoded bytes of every version held: the cost of sending the whole store.
    public private(set) var byteSize: Int = 0

    /// An empty store.
    public init(limits: MetadataLimits = MetadataLimits()) {
        self.limits = limits
    }

    /// Number of entries, tombstones and conflicted ones included.
    public var count: Int { table.count }

    /// The entry at `address`.
    public func entry(_ address: MetadataAddress) -> MetadataEntry? { table[address] }

    /// Entries whose address starts with `prefix`, sorted by address.
    public func entries(prefix: String = "") -> [MetadataEntry] {
        table.values.filter { prefix.isEmpty || $0.address.rawValue.hasPrefix(prefix) }
            .sorted { $0.address < $1.address }
    }

    /// Every entry in no particular order.
    public var allEntries: Dictionary<MetadataAddress, MetadataEntry>.Values { table.values }

    /// Entries by status (`conflicted` for those with siblings).
    public func countsByStatus() -> [MetadataStatus: Int] {
        statusCounts.filter { $0.value > 0 }
    }

    /// Writes a new version of `address` by `node` at `now`. Its clock has seen every
    /// version held, so it replaces them all. Returns the version written.
    public mutating func write(
        address: MetadataAddress, value: JSONValue?, status: MetadataStatus, roles: [String] = [],
        replicationNodes: [String] = [], by node: NodeID, at now: Instant
    ) throws(MetadataError) -> ContextMetadata {
        let version = try prepareWrite(
            address: address, value: value, status: status, roles: roles, replicationNodes: replicationNodes,
            by: node, at: now)
        commitWrite(version)
        return version
    }

    /// The version a local write would make (its clock dominates every sibling), checked
    /// against the limits, with the store unchanged: a durable host writes it to disk
    /// before `commitWrite` makes it visible.
    public func prepareWrite(
        address: MetadataAddress, value: JSONValue?, status: MetadataStatus, roles: [String] = [],
        replicationNodes: [String] = [], by node: NodeID, at now: Instant
    ) throws(MetadataError) -> ContextMetadata {
        let existing = table[address]
        var clock = existing?.mergedClock ?? VectorClock()
        clock.increment(node)
        let version = ContextMetadata(
            address: address, value: value, status: status, roles: roles,
            replicationNodes: replicationNodes,
            vectorClock: clock, updatedBy: node, lastUpdated: now)
        try check(version, value: value)
        if existing == nil, table.count >= limits.maxEntries {
            throw .storeFull(limit: limits.maxEntries)
        }
        return version
    }

    /// Makes a version from `prepareWrite` the entry's only one, as that write's clock
    /// dominates every sibling the entry held when it was prepared.
    public mutating func commitWrite(_ version: ContextMetadata) {
        replace(version.address, with: MetadataEntry(address: version.address, versions: [version]))
    }

    /// Merges a version from a peer; see the type's merge rules.
    public mutating func apply(_ version: ContextMetadata) -> MergeOutcome {
        guard version.hasValidChecksum else { return .rejected(.badChecksum) }
        // Only a version that would change the store is checked in full (its value
        // parsed): gossip delivers most versions many times.
        func checked() -> MetadataError? {
            do throws(MetadataError) {
                try check(version)
                return nil
            } catch {
                return error
            }
        }
        guard let existing = table[version.address] else {
            if let error = checked() { return .rejected(error) }
            guard table.count < limits.maxEntries else {
                return .rejected(.storeFull(limit: limits.maxEntries))
            }
            replace(version.address, with: MetadataEntry(address: version.address, versions: [version]))
            return .applied
        }
        var kept: [ContextMetadata] = []
        for held in existing.versions {
            switch version.vectorClock.compare(held.vectorClock) {
            case .before:
                return .stale
            case .equal:
                // Equal clocks with different content only arise when a writer lost its
                // state; the higher checksum wins everywhere so that nodes still agree.
                if version.checksum <= held.checksum { return .stale }
            case .after:
                break
            case .concurrent:
                kept.append(held)
            }
        }
        if let error = checked() { return .rejected(error) }
        guard kept.count < limits.maxSiblings else {
            return .rejected(.tooManySiblings(limit: limits.maxSiblings))
        }
        let wasConflicted = existing.versions.count > 1
        replace(
            version.address, with: MetadataEntry(address: version.address, versions: kept + [version]))
        return kept.isEmpty ? .applied : .conflict(siblings: kept.count + 1, isNew: !wasConflicted)
    }

    /// The versions held for `addresses`, siblings included; unknown addresses are skipped.
    public func versions(for addresses: [MetadataAddress]) -> [ContextMetadata] {
        addresses.flatMap { table[$0]?.versions ?? [] }
    }

    /// Removes the tombstones this store has held for at least `grace`, and returns how
    /// many went. Time is the caller's protocol clock, counted from the first pass that
    /// saw each tombstone: neither a writer's skewed wall clock (in `lastUpdated`) nor a
    /// local wall clock set forward can purge a delete before it had time to spread. A
    /// restarted node counts afresh, which keeps tombstones longer, never shorter.
    @discardableResult
    public mutating func reapTombstones(now: Instant, grace: Duration) -> Int {
        guard statusCounts[.deleted, default: 0] > 0 || !tombstonesSeen.isEmpty else { return 0 }
        var expired: [MetadataAddress] = []
        var seen: [MetadataAddress: Instant] = [:]
        for entry in table.values where entry.status == .deleted {
            let since = tombstonesSeen[entry.address] ?? now
            if now - since >= grace {
                expired.append(entry.address)
            } else {
                seen[entry.address] = since
            }
        }
        tombstonesSeen = seen
        for address in expired { replace(address, with: nil) }
        return expired.count
    }

    /// Checks a version against the limits (not its checksum). A local write passes the
    /// value it has; a received version's text is parsed here.
    func check(_ version: ContextMetadata, value known: JSONValue? = nil) throws(MetadataError) {
        if version.status == .conflicted { throw .conflictedIsNotWritable }
        if version.status == .deleted, version.valueText != nil { throw .valueOnTombstone }
        let clockSize = version.vectorClock.entries.count
        if clockSize == 0 || clockSize > limits.maxClockEntries {
            throw .badClock(entries: clockSize, limit: limits.maxClockEntries)
        }
        try checkList(version.roles, field: "roles", limit: limits.maxRoles)
        try checkList(
            version.replicationNodes, field: "replication nodes", limit: limits.maxReplicationNodes)
        if let text = version.valueText {
            if version.size > limits.maxValueBytes {
                throw .valueTooLarge(bytes: version.size, limit: limits.maxValueBytes)
            }
            let value: JSONValue
            if let known {
                value = known
            } else {
                do {
                    value = try JSONValue.parse(text)
                } catch {
                    throw .badValue(error.description)
                }
            }
            guard value.isFinite else { throw .nonFiniteNumber }
            let depth = value.depth
            if depth > limits.maxValueDepth {
                throw .valueTooDeep(depth: depth, limit: limits.maxValueDepth)
            }
        }
    }

    private func checkList(_ names: [String], field: String, limit: Int) throws(MetadataError) {
        if names.count > limit { throw .listTooLong(field: field, count: names.count, limit: limit) }
        for name in names where name.isEmpty || name.utf8.count > limits.maxNameBytes {
            throw .badName(field: field, name: String(name.prefix(limits.maxNameBytes)))
        }
    }

    /// Swaps the entry at `address`, keeping the digest, byte size and counts current.
    private mutating func replace(_ address: MetadataAddress, with new: MetadataEntry?) {
        if let old = table[address] {
            digest ^= old.entryHash
            byteSize -= old.wireSize
            statusCounts[old.status, default: 0] -= 1
        }
        table[address] = new
        if let new {
            digest ^= new.entryHash
            byteSize += new.wireSize
            statusCounts[new.status, default: 0] += 1
        }
    }
}
