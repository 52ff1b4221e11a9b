import Testing

@testable import HearsayCore

/// Local writes wait for the disk between `prepareWrite` and `commitWrite`, while the
/// store goes on: no two writes in flight share a clock counter, a peer's concurrent
/// version is kept beside a local write, and a refused write leaves nothing.
@Suite struct PendingWriteTests {
    private let t0 = T.t0
    private let address = T.address("app/config")
    private let me = T.id(1)

    private func prepare(_ store: inout MetadataStore, _ value: String, at address: MetadataAddress? = nil) throws
        -> ContextMetadata
    {
        try store.prepareWrite(address: address ?? self.address, value: .string(value), status: .active, by: me, at: t0)
    }

    @Test func writesInFlightToOneEntryCountOnAndCommitInOrder() throws {
        var store = MetadataStore()
        let first = try prepare(&store, "a")
        let second = try prepare(&store, "b")
        #expect(first.vectorClock == VectorClock([me: 1]))
        #expect(second.vectorClock == VectorClock([me: 2]))
        #expect(store.entry(address) == nil, "nothing is visible before it is durable")
        #expect(store.pendingWriteCount == 2)
        #expect(store.commitWrite(first) == .applied)
        #expect(store.commitWrite(second) == .applied)
        #expect(store.entry(address)?.versions == [second])
        #expect(store.pendingWriteCount == 0)
    }

    @Test func aRefusedWriteLeavesNothingAndItsCounterIsNeverReused() throws {
        var store = MetadataStore()
        let refused = try prepare(&store, "a")
        let kept = try prepare(&store, "b")
        store.abandonWrite(refused)
        store.commitWrite(kept)
        #expect(store.entry(address)?.versions == [kept])
        let next = try prepare(&store, "c")
        #expect(next.vectorClock == VectorClock([me: 3]))
        store.abandonWrite(next)
        // With nothing in flight, the next write counts from what the store holds.
        #expect(try prepare(&store, "d").vectorClock == VectorClock([me: 3]))
    }

    @Test func aPeersConcurrentVersionArrivingMeanwhileEndsInAConflict() throws {
        var store = MetadataStore()
        let local = try prepare(&store, "mine")
        let remote = ContextMetadata.make(
            address: address, value: .string("theirs"), clock: VectorClock([T.id(2): 1]), by: T.id(2), at: t0)
        #expect(store.apply(remote) == .applied)
        #expect(store.commitWrite(local) == .conflict(siblings: 2, isNew: true))
        #expect(Set(store.entry(address)?.versions ?? []) == [local, remote])
    }

    @Test func aWriteAfterAPeersVersionArrivedResolvesIt() throws {
        var store = MetadataStore()
        let held = ContextMetadata.make(
            address: address, value: .string("theirs"), clock: VectorClock([T.id(2): 1]), by: T.id(2), at: t0)
        _ = store.apply(held)
        let local = try prepare(&store, "mine")
        #expect(store.commitWrite(local) == .applied)
        #expect(store.entry(address)?.versions == [local])
    }

    @Test func entriesBeingCreatedCountAgainstTheLimit() throws {
        var limits = MetadataLimits()
        limits.maxEntries = 2
        var store = MetadataStore(limits: limits)
        let a = try prepare(&store, "a", at: T.address("a"))
        _ = try prepare(&store, "b", at: T.address("b"))
        #expect(throws: MetadataError.storeFull(limit: 2)) { try prepare(&store, "c", at: T.address("c")) }
        // A second write to an entry in flight is no new entry.
        let a2 = try prepare(&store, "a2", at: T.address("a"))
        store.abandonWrite(a)
        #expect(throws: MetadataError.storeFull(limit: 2)) { try prepare(&store, "c", at: T.address("c")) }
        store.commitWrite(a2)
        #expect(throws: MetadataError.storeFull(limit: 2)) { try prepare(&store, "c", at: T.address("c")) }
    }
}
