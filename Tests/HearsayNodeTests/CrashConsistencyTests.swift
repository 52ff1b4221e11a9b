import Foundation
import HearsayCore
import HearsayNode
import Testing

/// SIGKILL at random moments during a stream of writes, several times: every write that
/// was acknowledged is on every node afterwards, or one written after it to the same
/// entry, with no sibling beside it (issue 12).
@Suite(.serialized) struct CrashConsistencyTests {
    @Test func everyAcknowledgedWriteSurvivesKillsAtRandomMoments() async throws {
        let cluster = AgentCluster(size: 2)
        defer { cluster.stop() }
        try cluster.start()
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) }, "\(cluster.logs)")
        let (origin, peer) = (cluster.agents[0], cluster.agents[1])
        // Few entries, each written many times, so that a restarted node that reused a
        // clock counter would show as a lost or sibling version.
        let entries = 25
        var acknowledged: [Int: Int] = [:]  // entry -> the last value acknowledged
        var next = 0
        var delays: [Int] = []
        for _ in 0..<4 {
            let first = next
            // The writer runs on a thread of its own (the client blocks); the kill comes
            // from here, whenever it falls.
            let writer = Task.detached { () -> [(Int, Int)] in
                var done: [(Int, Int)] = []
                for value in first..<(first + 100_000) {
                    guard let answer = try? origin.put("crash/\(value % entries)", .number(Double(value))) else {
                        break
                    }
                    if answer.status == 200 { done.append((value % entries, value)) }
                }
                return done
            }
            let delay = Int.random(in: 150...900)
            delays.append(delay)
            try await Task.sleep(for: .milliseconds(delay))
            origin.signal(SIGKILL)
            let done = await writer.value
            for (entry, value) in done { acknowledged[entry] = value }
            next = (done.last?.1 ?? first) + 2  // past the write that may have been in flight
            _ = await origin.waitForExit(timeout: .seconds(20))
            try origin.start(key: cluster.key, join: [peer.gossipPort])
            #expect(
                await eventually { origin.isHealthy },
                "\(origin.logText)")
        }
        #expect(acknowledged.count == entries, "too few writes to tell (kills after \(delays) ms)")
        func holds(_ agent: AgentProcess, _ entry: Int, atLeast value: Int) -> Bool {
            guard case .number(let stored)? = agent.values("crash/\(entry)").onlyElement else { return false }
            return Int(stored) >= value
        }
        let lost = acknowledged.filter { !holds(origin, $0.key, atLeast: $0.value) }
        #expect(lost.isEmpty, "lost on the origin (kills after \(delays) ms): \(lost)")
        let everywhere = await eventually(timeout: .seconds(60)) {
            acknowledged.allSatisfy { holds(peer, $0.key, atLeast: $0.value) }
        }
        #expect(everywhere, "not on the peer (kills after \(delays) ms)")
    }
}

extension Array {
    /// The element of a one-element array, else nil.
    fileprivate var onlyElement: Element? { count == 1 ? first : nil }
}
