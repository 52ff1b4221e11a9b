import Testing

@testable import HearsayCore

@Suite struct MetadataStoreTests {
    private let t0 = T.t0
    private let address = T.address("app/config")

    private func version(_ counters: [Int: UInt64], _ value: String, by writer: Int = 1) -> ContextMetadata {
        let clock = VectorClock(Dictionary(uniqueKeysWithValues: counters.map { (T.id($0.key), $0.value) }))
        return ContextMetadata.make(address: address, value: .string(value), clock: clock, by: T.id(writer), at: t0)
    }

    @Test func aWriteCountsTheWriterAndRecordsTheSeedFields() throws {
        var store = MetadataStore()
        let v = try store.write(
            address: address, value: .object(["k": .number(1)]), status: .active, roles: ["reader"],
            replicationNodes: ["node-2"], by: T.id(1), at: t0 + .nanoseconds(1_234_567))
        #expect(v.vectorClock == VectorClock([T.id(1): 1]) && v.version == 1)
        #expect(v.size == #"{"k":1}"#.utf8.count)
        #expect(v.checksumText.hasPrefix("fnv1a64:") && v.checksumText.count == 24)
        let hex = String(v.checksum, radix: 16)
        #expect(v.checksumText == "fnv1a64:" + String(repeating: "0", count: 16 - hex.count) + hex)
        #expect(v.lastUpdated == t0 + .milliseconds(1), "kept to the millisecond, as the wire carries it")
        #expect(v.hasValidChecksum)
        let next = try store.write(address: address, value: nil, status: .active, by: T.id(2), at: t0)
        #expect(next.vectorClock == VectorClock([T.id(1): 1, T.id(2): 1]))
        #expect(store.entry(address)?.versions == [next])
    }

    @Test func theIndexCountsChangesAndEachEntryKeepsItsLast() throws {
        var store = MetadataStore()
        #expect(store.index == 0 && store.modifyIndex(address) == 0)
        #expect(store.apply(version([1: 1], "a")) == .applied)
        let other = T.address("other/key")
        _ = try store.write(address: other, value: .string("o"), status: .active, by: T.id(2), at: t0)
        #expect(store.index == 2)
        #expect(store.modifyIndex(address) == 1 && store.modifyIndex(other) == 2)
        #expect(store.modifyIndex(prefix: "app/") == 1 && store.modifyIndex(prefix: "") == 2)
        #expect(store.modifyIndex(prefix: "nothing/") == 0)
        // A stale version changes nothing, so no index moves.
        #expect(store.apply(version([1: 1], "a")) == .stale)
        #expect(store.index == 2)
        _ = try store.write(address: address, value: nil, status: .deleted, by: T.id(1), at: t0)
        #expect(store.modifyIndex(address) == 3)
        // Purging the tombstone is a change of every listing.
        store.reapTombstones(now: t0, grace: .seconds(1))
        #expect(store.reapTombstones(now: t0 + .seconds(1), grace: .seconds(1)) == 1)
        #expect(store.index == 4 && store.modifyIndex(address) == 0)
        #expect(store.modifyIndex(prefix: "nothing/") == 4)
    }

    @Test func aDominatingVersionWinsAndAnOlderOneIsStale() {
        var store = MetadataStore()
        #expect(store.apply(version([1: 1], "a")) == .applied)
        #expect(store.apply(version([1: 2], "b")) == .applied)
        #expect(store.apply(version([1: 1], "a")) == .stale)
        #expect(store.apply(version([1: 2], "b")) == .stale)
        #expect(store.entry(address)?.versions.map(\.value) == [.string("b")])
    }

    @Test func concurrentVersionsAreKeptAsConflictedSiblings() {
        var store = MetadataStore()
        let x = version([1: 1], "x", by: 1)
        let y = version([2: 1], "y", by: 2)
        let z = version([3: 1], "z", by: 3)
        #expect(store.apply(x) == .applied)
        #expect(store.apply(y) == .conflict(siblings: 2, isNew: true))
        #expect(store.apply(z) == .conflict(siblings: 3, isNew: false))
        #expect(store.entry(address)?.status == .conflicted)
        #expect(Set(store.entry(address)!.versions) == [x, y, z])
        #expect(store.countsByStatus() == [.conflicted: 1])
        // A version that has seen only some siblings replaces those and stays in conflict.
        let xy = version([1: 1, 2: 1, 4: 1], "xy", by: 4)
        #expect(store.apply(xy) == .conflict(siblings: 2, isNew: false))
        #expect(Set(store.entry(address)!.versions) == [xy, z])
    }

    @Test func aLocalWriteAfterAConflictResolvesIt() throws {
        var store = MetadataStore()
        _ = store.apply(version([1: 1], "x", by: 1))
        _ = store.apply(version([2: 1], "y", by: 2))
        let resolved = try store.write(address: address, value: .string("both"), status: .active, by: T.id(3), at: t0)
        #expect(resolved.vectorClock == VectorClock([T.id(1): 1, T.id(2): 1, T.id(3): 1]))
        #expect(store.entry(address)?.versions == [resolved])
        #expect(store.entry(address)?.status == .active)
    }

    @Test func applyingInAnyOrderEndsInTheSameStore() {
        let versions = [
            version([1: 1], "a", by: 1), version([2: 1], "b", by: 2), version([1: 2], "c", by: 1),
            version([1: 2, 2: 1, 3: 1], "d", by: 3), version([4: 1], "e", by: 4),
        ]
        var random = SeededGenerator(seed: 3)
        var digests = Set<UInt64>()
        for _ in 0..<20 {
            var store = MetadataStore()
            for v in versions.shuffled(using: &random) { _ = store.apply(v) }
            digests.insert(store.digest)
            #expect(store.entry(address)?.versions.count == 2)
        }
        #expect(digests.count == 1)
    }

    @Test func equalClocksWithDifferentContentConvergeOnTheHigherChecksum() {
        let p = version([1: 1], "p")
        let q = version([1: 1], "q")
        let (high, low) = p.checksum > q.checksum ? (p, q) : (q, p)
        var s1 = MetadataStore()
        var s2 = MetadataStore()
        _ = s1.apply(low)
        #expect(s1.apply(high) == .applied)
        _ = s2.apply(high)
        #expect(s2.apply(low) == .stale)
        #expect(s1.digest == s2.digest)
    }

    @Test func tamperedOrOversizedVersionsAreRejected() {
        var store = MetadataStore(
            limits: {
                var l = MetadataLimits(); l.maxValueBytes = 16; l.maxRoles = 1; return l
            }())
        var tampered = version([1: 1], "x")
        tampered.value = .string("y")
        #expect(store.apply(tampered) == .rejected(.badChecksum))
        #expect(
            store.apply(version([1: 1], String(repeating: "v", count: 40)))
                == .rejected(.valueTooLarge(bytes: 42, limit: 16)))
        var roles = ContextMetadata.make(
            address: address, value: nil, roles: ["a", "b"], clock: VectorClock([T.id(1): 1]), by: T.id(1), at: t0)
        #expect(store.apply(roles) == .rejected(.listTooLong(field: "roles", count: 2, limit: 1)))
        roles = ContextMetadata.make(address: address, value: nil, clock: VectorClock(), by: T.id(1), at: t0)
        #expect(store.apply(roles) == .rejected(.badClock(entries: 0, limit: 1024)))
        let nan = ContextMetadata.make(
            address: address, value: .number(.nan), clock: VectorClock([T.id(1): 1]), by: T.id(1), at: t0)
        if case .rejected(.badValue) = store.apply(nan) {} else { Issue.record("a NaN value was not refused") }
        #expect(throws: MetadataError.nonFiniteNumber) {
            try store.write(address: address, value: .number(.infinity), status: .active, by: T.id(1), at: t0)
        }
        #expect(store.count == 0 && store.digest == 0)
    }

    @Test func writesBreakingTheRulesThrowAndChangeNothing() {
        var store = MetadataStore(
            limits: {
                var l = MetadataLimits(); l.maxEntries = 1; return l
            }())
        #expect(throws: MetadataError.conflictedIsNotWritable) {
            try store.write(address: address, value: nil, status: .conflicted, by: T.id(1), at: t0)
        }
        #expect(throws: MetadataError.valueOnTombstone) {
            try store.write(address: address, value: .null, status: .deleted, by: T.id(1), at: t0)
        }
        _ = try? store.write(address: address, value: nil, status: .active, by: T.id(1), at: t0)
        #expect(throws: MetadataError.storeFull(limit: 1)) {
            try store.write(address: T.address("other"), value: nil, status: .active, by: T.id(1), at: t0)
        }
        #expect(store.count == 1)
    }

    @Test func siblingsBeyondTheLimitAreRefused() {
        var store = MetadataStore(
            limits: {
                var l = MetadataLimits(); l.maxSiblings = 2; return l
            }())
        _ = store.apply(version([1: 1], "a", by: 1))
        _ = store.apply(version([2: 1], "b", by: 2))
        #expect(store.apply(version([3: 1], "c", by: 3)) == .rejected(.tooManySiblings(limit: 2)))
        #expect(store.entry(address)?.versions.count == 2)
    }

    @Test func tombstonesArePurgedOnlyAfterTheirGrace() throws {
        var store = MetadataStore()
        _ = try store.write(address: address, value: .string("x"), status: .active, by: T.id(1), at: t0)
        _ = try store.write(address: address, value: nil, status: .deleted, by: T.id(1), at: t0)
        _ = try store.write(address: T.address("live"), value: nil, status: .active, by: T.id(1), at: t0)
        let grace = Duration.seconds(60)
        // The grace counts on the reaper's clock from the first pass that saw the
        // tombstone, whatever its writer stamped: a stamp from a clock far ahead or
        // behind changes nothing.
        let later = t0 + .seconds(3600)
        #expect(store.reapTombstones(now: later, grace: grace) == 0)
        #expect(store.reapTombstones(now: later + .seconds(59), grace: grace) == 0)
        #expect(store.entry(address) != nil)
        #expect(store.reapTombstones(now: later + .seconds(60), grace: grace) == 1)
        #expect(store.entry(address) == nil && store.count == 1)
    }

    @Test func aRevivedEntryStartsItsGraceAgainWhenDeletedAgain() throws {
        var store = MetadataStore()
        let grace = Duration.seconds(60)
        _ = try store.write(address: address, value: nil, status: .deleted, by: T.id(1), at: t0)
        #expect(store.reapTombstones(now: t0, grace: grace) == 0)
        _ = try store.write(address: address, value: .string("back"), status: .active, by: T.id(1), at: t0)
        #expect(store.reapTombstones(now: t0 + .seconds(30), grace: grace) == 0)
        _ = try store.write(address: address, value: nil, status: .deleted, by: T.id(1), at: t0)
        #expect(store.reapTombstones(now: t0 + .seconds(61), grace: grace) == 0)
        #expect(store.reapTombstones(now: t0 + .seconds(121), grace: grace) == 1)
    }

    @Test func digestAndSizeFollowEveryChangeIncrementally() throws {
        var store = MetadataStore()
        var other = MetadataStore()
        for i in 0..<50 {
            let v = try store.write(
                address: T.address("k/\(i)"), value: .number(Double(i)), status: .active, by: T.id(1), at: t0)
            _ = other.apply(v)
        }
        #expect(store.digest == other.digest && store.byteSize == other.byteSize)
        let recomputed = store.allEntries.reduce(UInt64(0)) { $0 ^ $1.entryHash }
        #expect(store.digest == recomputed)
        #expect(store.byteSize == store.allEntries.reduce(0) { $0 + $1.wireSize })
        _ = try store.write(address: T.address("k/3"), value: nil, status: .deleted, by: T.id(1), at: t0)
        #expect(store.digest != other.digest)
        #expect(store.entries(prefix: "k/1").map(\.address.rawValue) == ["k/1"] + (10...19).map { "k/\($0)" })
    }

    @Test func reconciliationFindsExactlyTheDifferingEntries() throws {
        var a = MetadataStore()
        for i in 0..<2000 {
            _ = try a.write(
                address: T.address("e/\(i)"), value: .number(Double(i)), status: .active, by: T.id(1), at: t0)
        }
        var b = a
        let onlyA = try a.write(address: T.address("e/5"), value: .string("a"), status: .active, by: T.id(2), at: t0)
        let onlyB = try b.write(address: T.address("new/b"), value: .string("b"), status: .active, by: T.id(3), at: t0)
        let bits = MetadataStore.bucketBits(forEntryCount: 2001)
        #expect(bits == 6)
        let differing = a.differingBuckets(from: b.bucketDigest(bits: bits))
        #expect(differing.count <= 2 && !differing.isEmpty)
        let summaries = a.summaries(inBuckets: differing, bits: bits)
        #expect(summaries.count < 200, "only the differing buckets are summarised")
        let (send, request, deferred) = b.reconcile(remote: summaries, buckets: differing, bits: bits)
        #expect(deferred.isEmpty)
        // b sends what a lacks and asks for what a holds differently.
        #expect(send.contains(onlyB))
        #expect(request == [T.address("e/5")])
        for v in send { _ = a.apply(v) }
        for v in a.versions(for: request) { _ = b.apply(v) }
        #expect(a.digest == b.digest)
        #expect(b.entry(T.address("e/5"))?.versions == [onlyA])
    }

    @Test func bucketGranularityGrowsWithTheStore() {
        #expect(MetadataStore.bucketBits(forEntryCount: 0) == 0)
        #expect(MetadataStore.bucketBits(forEntryCount: 32) == 0)
        #expect(MetadataStore.bucketBits(forEntryCount: 100_000) == 12)
        #expect(MetadataStore.bucketBits(forEntryCount: 100_000_000) == 16)
    }

    @Test func addressesAreValidated() {
        #expect(MetadataAddress.isValid("ucxl://agent:role@project:task/context?x=1#f"))
        #expect(!MetadataAddress.isValid(""))
        #expect(!MetadataAddress.isValid("has space"))
        #expect(!MetadataAddress.isValid("quote\""))
        #expect(!MetadataAddress.isValid(String(repeating: "a", count: 513)))
        #expect(MetadataAddress.isValid(String(repeating: "a", count: 512)))
    }

    @Test func limitsAreValidatedWithTheSettingNamed() {
        var limits = MetadataLimits()
        limits.maxSiblings = 1
        #expect(throws: ValidationError(setting: "max siblings", value: "1", allowed: "2 to 1024")) {
            try limits.validate()
        }
        #expect(throws: Never.self) { try MetadataLimits().validate() }
    }
}
