import Testing

@testable import HearsayCore

@Suite struct VectorClockTests {
    private let a = T.id(1)
    private let b = T.id(2)

    @Test func countsWritesPerNodeNotTime() {
        var clock = VectorClock()
        clock.increment(a)
        clock.increment(a)
        clock.increment(b)
        #expect(clock[a] == 2 && clock[b] == 1 && clock[T.id(3)] == 0)
        #expect(clock.sum == 3)
    }

    @Test func comparisonTellsOrderAndConcurrency() {
        let x = VectorClock([a: 1])
        let y = VectorClock([a: 2])
        let z = VectorClock([b: 1])
        #expect(x.compare(y) == .before)
        #expect(y.compare(x) == .after)
        #expect(x.compare(VectorClock([a: 1])) == .equal)
        #expect(y.compare(z) == .concurrent)
        #expect(y.dominates(x) && y.dominates(y) && !y.dominates(z))
    }

    @Test func mergeIsThePerNodeMaximumAndDominatesBoth() {
        let x = VectorClock([a: 3, b: 1])
        let y = VectorClock([a: 1, b: 4, T.id(3): 2])
        let m = x.merged(with: y)
        #expect(m == VectorClock([a: 3, b: 4, T.id(3): 2]))
        #expect(m.dominates(x) && m.dominates(y))
        #expect(x.merged(with: y) == y.merged(with: x))
    }

    @Test func zeroCountersAndOrderDoNotMatter() {
        #expect(VectorClock([a: 1, b: 0]) == VectorClock([a: 1]))
        let decoded = VectorClock(entries: [
            .init(node: b, counter: 2), .init(node: a, counter: 1), .init(node: b, counter: 1),
        ])
        #expect(decoded == VectorClock([a: 1, b: 2]))
        var h1 = StableHash()
        var h2 = StableHash()
        decoded.hash(into: &h1)
        VectorClock([b: 2, a: 1]).hash(into: &h2)
        #expect(h1.finalize() == h2.finalize())
    }

    @Test func decodedEntriesAreTakenAsTheyAreOnlyWhenSortedDistinctAndNonZero() {
        let c = T.id(3)
        #expect(VectorClock(entries: []) == VectorClock())
        #expect(VectorClock(entries: [.init(node: a, counter: 0)]) == VectorClock())
        #expect(VectorClock(entries: [.init(node: a, counter: 1), .init(node: a, counter: 4)]).entries.count == 1)
        #expect(VectorClock(entries: [.init(node: a, counter: 1), .init(node: a, counter: 4)])[a] == 4)
        #expect(
            VectorClock(entries: [.init(node: a, counter: 2), .init(node: b, counter: 0), .init(node: c, counter: 1)])
                == VectorClock([a: 2, c: 1]))
        #expect(
            VectorClock(entries: [.init(node: c, counter: 1), .init(node: b, counter: 5), .init(node: a, counter: 2)])
                .entries.map(\.node) == [a, b, c].sorted())
        let sorted = VectorClock(entries: [.init(node: a, counter: 1), .init(node: b, counter: 2)])
        #expect(sorted == VectorClock([a: 1, b: 2]))
    }

    @Test func wireSizeCountsNamesAndCounters() {
        let clock = VectorClock([a: 300])
        #expect(clock.wireSize == 1 + 1 + a.rawValue.utf8.count + 2)
        #expect(VectorClock().wireSize == 1)
    }
}
