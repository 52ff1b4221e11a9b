import Testing

@testable import HearsayCore

/// A node that comes back to a store many times larger than an anti-entropy page
/// catches up in pages, with no message larger than about a page (issue 12, item 5).
@Suite struct StreamingSyncTests {
    @Test func aNodeCatchesUpWithAStoreTenPagesLargeInBoundedMessages() throws {
        let page = 16 * 1024
        var config = SimulationConfig()
        config.nodes = 3
        config.seed = 5
        config.preloadMembership = true
        config.tune = {
            $0.antiEntropy.syncPageBytes = page
            $0.antiEntropy.gossipInterval = .seconds(2)
        }
        let sim = try Simulation(config)
        try sim.start()
        sim.kill(2)
        let value = JSONValue.string(String(repeating: "v", count: 500))
        for i in 0..<600 {
            try sim.put(i % 2, T.address("bulk/\(i)"), value)
            if i % 50 == 0 { sim.run(for: .milliseconds(200)) }
        }
        sim.run(for: .seconds(60))
        let store = sim.engines[0].store
        #expect(store.count == 600 && sim.engines[1].store.digest == store.digest)
        #expect(store.byteSize >= 10 * page, "the store must be at least ten pages")
        let before = sim.tally.largestStreamFrame

        try sim.restart(2, joiningThrough: 0)
        let caughtUp = sim.run(
            until: { $0.engines[2].store.digest == $0.engines[0].store.digest }, step: .milliseconds(200),
            limit: .seconds(120))
        #expect(caughtUp != nil, "the returning node holds \(sim.engines[2].store.count) of 600 entries")
        // One bucket may overshoot the page; nothing near the whole store goes in one frame.
        let largest = max(before, sim.tally.largestStreamFrame)
        #expect(largest < 2 * page, "largest stream frame \(largest) bytes, page \(page), store \(store.byteSize)")
    }

    @Test func aPageThatDoesNotFitIsDeferredBucketByBucket() throws {
        var store = MetadataStore()
        for i in 0..<300 {
            _ = try store.write(
                address: T.address("k/\(i)"), value: .string(String(repeating: "x", count: 200)), status: .active,
                by: T.id(1), at: T.t0)
        }
        let bits = MetadataStore.bucketBits(forEntryCount: store.count)
        let buckets = Array(0..<(1 << bits))
        let (send, request, deferred) = store.reconcile(remote: [], buckets: buckets, bits: bits, budget: 8 * 1024)
        #expect(request.isEmpty)
        let sent = send.reduce(0) { $0 + $1.wireSize }
        #expect(sent <= 8 * 1024 + 2 * 300 && sent > 0)
        #expect(!deferred.isEmpty && deferred == Array(buckets.suffix(deferred.count)))
        // The deferred buckets hold exactly what was not sent.
        let (rest, _, none) = store.reconcile(remote: [], buckets: deferred, bits: bits)
        #expect(none.isEmpty && send.count + rest.count == 300)
    }
}
