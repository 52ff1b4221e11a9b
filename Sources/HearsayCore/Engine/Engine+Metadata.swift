/// Metadata writes, their dissemination, merges from peers and conflict alerts.
extension Engine {
    /// Writes an entry on this node and starts spreading it: pushed at once to a few
    /// members, then gossiped and piggybacked. A write that has seen every sibling of a
    /// conflicted entry resolves the conflict.
    public mutating func put(
        _ address: MetadataAddress, value: JSONValue?, status: MetadataStatus = .active,
        roles: [String] = [],
        replicationNodes: [String] = [], now: Instant
    ) throws(EngineError) -> (version: ContextMetadata, effects: [Effect]) {
        let version = try prepareWrite(
            address, value: value, status: status, roles: roles, replicationNodes: replicationNodes, now: now)
        return (version, commitWrite(version, persisted: false, now: now))
    }

    /// The version a write makes, checked, and held as pending with nothing visible: a
    /// host that keeps its store on disk writes it durably first, then commits it (or
    /// abandons it when the disk refused it), so that no peer and no reader ever sees a
    /// write that could be lost, and a refused write changes nothing anywhere. Anything
    /// may happen in between (the disk is slow): later writes to the entry build on the
    /// pending one, and a peer's concurrent version that arrives meanwhile ends beside
    /// it as a conflict (`MetadataStore.prepareWrite`).
    public mutating func prepareWrite(
        _ address: MetadataAddress, value: JSONValue?, status: MetadataStatus = .active,
        roles: [String] = [], replicationNodes: [String] = [], now: Instant
    ) throws(EngineError) -> ContextMetadata {
        guard isRunning else { throw .notRunning }
        do {
            return try store.prepareWrite(
                address: address, value: value, status: status, roles: roles,
                replicationNodes: replicationNodes, by: config.nodeID, at: now + wallClockOffset)
        } catch {
            throw .metadata(error)
        }
    }

    /// Makes a prepared write visible and starts spreading it. `persisted`: the host has
    /// it on disk already, so no `.stored` effect asks for it. `spread: false` only queues
    /// its broadcast: a host committing a batch of writes calls `spread(now:)` once after
    /// them, which sends them together, a datagram per peer rather than one per write.
    public mutating func commitWrite(
        _ version: ContextMetadata, persisted: Bool, now: Instant, spread: Bool = true
    ) -> [Effect] {
        self.now = now
        let outcome = store.commitWrite(version)
        let address = version.address
        if case .conflict(_, let isNew) = outcome, isNew { conflictFound(address) }
        statisticsStorage.localUpdates += 1
        if !persisted { effects.append(.stored(version)) }
        metric(.metadataUpdated(origin: .local))
        let update = message(
            .contextUpdate(version), ttl: config.dissemination.broadcastTTL, clock: version.vectorClock)
        // Refused or dropped later, anti-entropy still carries it; the write itself is kept.
        admitted(
            dissemination.queue.enqueue(update, key: .version(address, version.vectorClock), kind: .metadata),
            .contextUpdate)
        if spread, isRunning {
            spreadOwnNews()
        }
        return takeEffects()
    }

    /// Sends the queued broadcasts at once (after a batch of `commitWrite(spread: false)`).
    public mutating func spread(now: Instant) -> [Effect] {
        self.now = now
        if isRunning {
            spreadOwnNews()
        }
        return takeEffects()
    }

    /// Drops a prepared write that the host could not make durable; nothing of it was
    /// visible, and later writes to the entry simply skip its clock counter.
    public mutating func abandonWrite(_ version: ContextMetadata) {
        store.abandonWrite(version)
    }

    /// Deletes an entry: a tombstone that spreads like any write and is purged after
    /// the grace period.
    public mutating func delete(_ address: MetadataAddress, now: Instant) throws(EngineError) -> (
        version: ContextMetadata, effects: [Effect]
    ) {
        try put(address, value: nil, status: .deleted, now: now)
    }

    /// Merges a version from a peer. Returns nil when it was rejected.
    mutating func applyRemote(_ version: ContextMetadata, type: GossipMessageType) -> MergeOutcome? {
        let outcome = store.apply(version)
        switch outcome {
        case .stale:
            break
        case .applied:
            recordRemoteUpdate(version)
        case .conflict(_, let isNew):
            recordRemoteUpdate(version)
            if isNew { conflictFound(version.address) }
        case .rejected(let reason):
            versionRejected(version, reason, type: type)
            return nil
        }
        return outcome
    }

    /// A version the store refused. One whose content contradicts itself (bad checksum,
    /// clock or value) is a protocol error of the sender's, dropped as `invalid_payload`;
    /// one over this node's limits may come from a peer configured otherwise, and is
    /// dropped as `rejected`. Either way it is logged (at most once every 10 s, as every
    /// drop), and the versions around it are still applied: a session stopped at the
    /// first refusal would never complete, and every later round would stop at the same
    /// version.
    mutating func versionRejected(_ version: ContextMetadata, _ reason: MetadataError, type: GossipMessageType) {
        let broken: Bool
        switch reason {
        case .badChecksum, .badValue, .badClock, .nonFiniteNumber, .valueOnTombstone, .conflictedIsNotWritable:
            broken = true
            statisticsStorage.protocolErrors += 1
            metric(.protocolError)
        case .valueTooLarge, .valueTooDeep, .listTooLong, .badName, .storeFull, .tooManySiblings:
            broken = false
        }
        drop(
            type, broken ? .invalidPayload : .rejected, event: "version_rejected",
            message: "refused a metadata version from a peer",
            [
                LogField("address", version.address.rawValue), LogField("writer", version.updatedBy.rawValue),
                LogField("detail", "\(reason)"),
            ])
    }

    private mutating func recordRemoteUpdate(_ version: ContextMetadata) {
        statisticsStorage.remoteUpdates += 1
        effects.append(.stored(version))
        metric(.metadataUpdated(origin: .remote))
        // Both ends' wall clocks: skew between them shows up here, as it would in any
        // measurement of one-way delay.
        let latency = wallNow - version.lastUpdated
        if latency >= .zero { metric(.disseminationLatency(latency)) }
    }

    /// Counts and logs a conflict this node just saw, and alerts the cluster with every
    /// sibling so that all nodes hold the same conflict.
    private mutating func conflictFound(_ address: MetadataAddress) {
        guard let entry = store.entry(address) else { return }
        statisticsStorage.conflicts += 1
        metric(.metadataConflict)
        log(
            .warning, "metadata_conflict", "concurrent writes to one entry; both versions kept",
            [
                LogField("address", address.rawValue), LogField("siblings", "\(entry.versions.count)"),
                LogField("writers", entry.versions.map(\.updatedBy.rawValue).joined(separator: ",")),
            ])
        let alert = message(
            .conflictAlert(ConflictAlert(address: address, versions: entry.versions)),
            ttl: config.dissemination.broadcastTTL,
            clock: entry.mergedClock)
        admitted(dissemination.queue.enqueue(alert, key: .conflict(address), kind: .metadata), .conflictAlert)
    }

    mutating func handleConflictAlert(_ alert: ConflictAlert, message received: GossipMessage) {
        var changed = false
        for version in alert.versions where version.address == alert.address {
            guard let outcome = applyRemote(version, type: .conflictAlert) else { continue }
            changed = changed || outcome.changed
        }
        // Pass the alert on only while it still teaches someone something.
        if changed {
            relay(received, key: .conflict(alert.address), kind: .metadata)
        }
    }
}

extension MergeOutcome {
    /// Whether the merge changed the store.
    var changed: Bool {
        switch self {
        case .applied, .conflict: true
        case .stale, .rejected: false
        }
    }
}
