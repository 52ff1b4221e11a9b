import NIOCore
import Testing

@testable import HearsayNode

struct WatchDeadlinesTests {
    @Test func entriesComeDueInDeadlineOrderWhateverTheOrderTheyCameIn() {
        var deadlines = WatchDeadlines()
        let start = NIODeadline.uptimeNanoseconds(1_000_000)
        let waits: [Int64] = [50, 10, 40, 10, 30, 20, 60, 0]
        for (id, wait) in waits.enumerated() { deadlines.insert(start + .milliseconds(wait), id: UInt64(id)) }
        #expect(deadlines.earliest == start)
        #expect(deadlines.due(by: start - .milliseconds(1)).isEmpty)
        #expect(deadlines.due(by: start + .milliseconds(10)).sorted() == [1, 3, 7])
        #expect(deadlines.due(by: start + .milliseconds(35)).sorted() == [4, 5])
        #expect(deadlines.earliest == start + .milliseconds(40))
        #expect(deadlines.due(by: start + .seconds(1)).sorted() == [0, 2, 6])
        #expect(deadlines.count == 0 && deadlines.earliest == nil)
    }

    @Test func compactingKeepsOnlyTheQueriesStillWaitingInOrder() {
        var deadlines = WatchDeadlines()
        let start = NIODeadline.uptimeNanoseconds(1_000_000)
        for id in 0..<100 { deadlines.insert(start + .milliseconds(Int64(100 - id)), id: UInt64(id)) }
        deadlines.compact { $0 % 10 == 0 }
        #expect(deadlines.count == 10)
        #expect(deadlines.due(by: start + .seconds(1)) == [90, 80, 70, 60, 50, 40, 30, 20, 10, 0])
    }
}
