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
    /// Local writes prepared and not yet committed or abandoned, by entry.
    private var pending: [MetadataAddress: PendingWrite] = [:]
    /// Entries that pending writes create (not in the table when first prepared).
    private var pendingNewEntries = 0
    /// Protocol time of the first reaping pass that saw each tombstone (local only).
    private var tombstonesSeen: [MetadataAddress: Instant] = [:]

    /// XOR of the `entryHash` of every entry: equal stores have equal digests.
    public private(set) var digest: UInt64 = 0
    /// Encoded bytes of every version held: the cost of sending the whole store.
    public private(set) var byteSize: Int = 0
    /// Counts every change to the store (an entry added, changed or purged): what a
    /// blocking query waits past. Local to this store, and counted afresh from 0 when a
    /// node restarts and loads its log.
    public private(set) var index: UInt64 = 0
    /// The `index` at each entry's last change.
    private var modified: [MetadataAddress: UInt64] = [:]
    /// The `index` at the last purge of tombstones: a listing lost entries then.
    package private(set) var purgedAt: UInt64 = 0

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

    /// The `index` at the last change of the entry at `address`; 0 when there is none.
    public func modifyIndex(_ address: MetadataAddress) -> UInt64 { modified[address] ?? 0 }

    /// The `index` at the last change of what `entries(prefix:)` lists: an entry with
    /// that prefix written, changed or purged. A purge counts for every prefix, which at
    /// worst wakes a waiting query that finds nothing new.
    public func modifyIndex(prefix: String) -> UInt64 {
        if prefix.isEmpty { return index }
        var latest = purgedAt
        for (address, at) in modified where at > latest && address.rawValue.hasPrefix(prefix) {
            latest = at
        }
        return latest
    }

    /// Every entry in no particular order.
    public var allEntries: Dictionary<MetadataAddress, MetadataEntry>.Values { table.values }

    /// Entries by status (`conflicted` for those with siblings).
    public func countsByStatus() -> [MetadataStatus: Int] {
        statusCounts.filter { $0.value > 0 }
    }

    /// Writes a new version of `address` by `node` at `now`. Its clock has seen every
    /// version held, so it replaces them all. Returns the version written.
    package mutating func write(
        address: MetadataAddress, value: JSONValue?, status: MetadataStatus, roles: [String] = [],
        replicationNodes: [String] = [], by node: NodeID, at now: Instant
    ) throws(MetadataError) -> ContextMetadata {
        let version = try prepareWrite(
            address: address, value: value, status: status, roles: roles, replicationNodes: replicationNodes,
            by: node, at: now)
        commitWrite(version)
        return version
    }

    /// Prepares a local write: the version it makes, checked against the limits, and
    /// held as pending, not yet visible. A durable host writes it to disk and then calls
    /// `commitWrite`, or `abandonWrite` when the disk refused it.
    ///
    /// While writes are pending the store goes on: reads, merges from peers, other local
    /// writes. A write to an entry with one pending builds on it (its clock counts past
    /// the pending one), so two writes in flight never share a clock counter, and they
    /// commit in the order they were prepared. An entry that does not exist yet counts
    /// against `maxEntries` from its preparation.
    package mutating func prepareWrite(
        address: MetadataAddress, value: JSONValue?, status: MetadataStatus, roles: [String] = [],
        replicationNodes: [String] = [], by node: NodeID, at now: Instant
    ) throws(MetadataError) -> ContextMetadata {
        let existing = table[address]
        let inFlight = pending[address]
        var clock = existing?.mergedClock ?? VectorClock()
        if let inFlight { clock = clock.merged(with: inFlight.version.vectorClock) }
        clock.increment(node)
        let version = ContextMetadata(
            address: address, value: value, status: status, roles: roles,
            replicationNodes: replicationNodes,
            vectorClock: clock, updatedBy: node, lastUpdated: now)
        try check(version, value: value)
        if existing == nil, inFlight == nil, table.count + pendingNewEntries >= limits.maxEntries {
            throw .storeFull(limit: limits.maxEntries)
        }
        let isNew = inFlight?.isNew ?? (existing == nil)
        if inFlight == nil, isNew { pendingNewEntries += 1 }
        pending[address] = PendingWrite(version: version, count: (inFlight?.count ?? 0) + 1, isNew: isNew)
        return version
    }

    /// Makes a prepared write visible. Its clock dominates every version the entry held
    /// when it was prepared, which it replaces; a version from a peer that arrived since
    /// and is concurrent with it stays beside it, and the entry is in conflict, as for
    /// any two concurrent writes (the sibling limit, checked for peers' versions, does
    /// not refuse a write already on disk).
    @discardableResult
    package mutating func commitWrite(_ version: ContextMetadata) -> MergeOutcome {
        settle(version, committed: true)
        guard let existing = table[version.address] else {
            replace(version.address, with: MetadataEntry(address: version.address, versions: [version]))
            return .applied
        }
        // Only a version that saw this one could rank above it, and none has.
        guard let kept = Self.siblings(of: version, in: existing) else { return .stale }
        return merge(version, beside: kept, in: existing)
    }

    /// Drops a prepared write the disk refused: nothing of it was ever visible.
    package mutating func abandonWrite(_ version: ContextMetadata) {
        settle(version, committed: false)
    }

    /// Prepared writes not yet committed or abandoned.
    package var pendingWriteCount: Int { pending.values.reduce(0) { $0 + $1.count } }

    // One prepared write is done with. An entry that was new at its first pending write
    // stops counting as pending once it is in the table, or when its last pending write
    // is settled (until then, one a peer created meanwhile counts twice: the limit errs
    // on the side of refusing).
    private mutating func settle(_ version: ContextMetadata, committed: Bool) {
        guard var inFlight = pending[version.address] else { return }
        inFlight.count -= 1
        if inFlight.isNew, committed || inFlight.count == 0 {
            inFlight.isNew = false
            pendingNewEntries -= 1
        }
        pending[version.address] = inFlight.count > 0 ? inFlight : nil
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
        guard let kept = Self.siblings(of: version, in: existing) else { return .stale }
        if let error = checked() { return .rejected(error) }
        guard kept.count < limits.maxSiblings else {
            return .rejected(.tooManySiblings(limit: limits.maxSiblings))
        }
        return merge(version, beside: kept, in: existing)
    }

    /// The held versions that `version` leaves beside it (those concurrent with it), or
    /// nil when one held ranks above it: it dominates, or has an equal clock and a
    /// checksum at least as high (equal clocks with different content only arise when a
    /// writer lost its state; the higher checksum wins everywhere so that nodes agree).
    private static func siblings(of version: ContextMetadata, in existing: MetadataEntry) -> [ContextMetadata]? {
        var kept: [ContextMetadata] = []
        for held in existing.versions {
            switch version.vectorClock.compare(held.vectorClock) {
            case .before: return nil
            case .equal: if version.checksum <= held.checksum { return nil }
            case .after: break
            case .concurrent: kept.append(held)
            }
        }
        return kept
    }

    /// Makes `version` and `kept` the entry's versions.
    private mutating func merge(
        _ version: ContextMetadata, beside kept: [ContextMetadata], in existing: MetadataEntry
    ) -> MergeOutcome {
        let wasConflicted = existing.versions.count > 1
        replace(version.address, with: MetadataEntry(address: version.address, versions: kept + [version]))
        return kept.isEmpty ? .applied : .conflict(siblings: kept.count + 1, isNew: !wasConflicted)
    }

    /// The versions held for `addresses`, siblings included; unknown addresses are skipped.
    package func versions(for addresses: [MetadataAddress]) -> [ContextMetadata] {
        addresses.flatMap { table[$0]?.versions ?? [] }
    }

    /// Removes the tombstones this store has held for at least `grace`, and returns how
    /// many went. Time is the caller's protocol clock, counted from the first pass that
    /// saw each tombstone: neither a writer's skewed wall clock (in `lastUpdated`) nor a
    /// local wall clock set forward can purge a delete before it had time to spread. A
    /// restarted node counts afresh, which keeps tombstones longer, never shorter.
    @discardableResult
    package mutating func reapTombstones(now: Instant, grace: Duration) -> Int {
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
        if !expired.isEmpty { purgedAt = index }
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
        index += 1
        modified[address] = new == nil ? nil : index
        if let new {
            digest ^= new.entryHash
            byteSize += new.wireSize
            statusCounts[new.status, default: 0] += 1
        }
    }
}

/// The local writes in flight to one entry: the latest prepared (later ones build on
/// it), how many, and whether the entry did not exist when the first was prepared.
private struct PendingWrite: Sendable {
    var version: ContextMetadata
    var count: Int
    var isNew: Bool
}
