import Foundation
import HearsayCore
import HearsayNode
import Testing

/// SIGKILL at random moments during a stream of writes, several times: every write that
/// was acknowledged is on every node afterwards (issue 12).
@Suite(.serialized) struct CrashConsistencyTests {
    @Test func everyAcknowledgedWriteSurvivesKillsAtRandomMoments() async throws {
        let cluster = AgentCluster(size: 2)
        defer { cluster.stop() }
        try cluster.start()
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) }, "\(cluster.logs)")
        let (origin, peer) = (cluster.agents[0], cluster.agents[1])
        var acknowledged: [String] = []
        for run in 0..<4 {
            // The writer runs on a thread of its own (the client blocks); the kill comes
            // from here, whenever it falls.
            let writer = Task.detached { () -> [String] in
                var done: [String] = []
                for i in 0..<10_000 {
                    let address = "crash/\(run)/\(i)"
                    guard let answer = try? origin.put(address, .number(Double(i))) else { break }
                    if answer.status == 200 { done.append(address) }
                }
                return done
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 150...900)))
            origin.signal(SIGKILL)
            acknowledged += await writer.value
            _ = await origin.waitForExit(timeout: .seconds(20))
            try origin.start(key: cluster.key, join: [peer.gossipPort])
            #expect(
                await eventually { (try? origin.client.request("GET", "/healthz"))?.status == 200 },
                "\(origin.logText)")
        }
        #expect(acknowledged.count > 20, "too few writes to tell")
        // On the origin from its own log at once; on the peer by gossip or anti-entropy.
        let missing = acknowledged.filter { origin.entry($0) == nil }
        #expect(missing.isEmpty, "lost on the origin: \(missing.prefix(10))")
        let everywhere = await eventually(timeout: .seconds(60)) {
            acknowledged.allSatisfy { peer.entry($0) != nil }
        }
        #expect(everywhere, "missing on the peer: \(acknowledged.filter { peer.entry($0) == nil }.prefix(10))")
    }
}
