import Foundation
import HearsayCore
import HearsayNode
import Testing

/// A node restarted without a join does not know its old peers, which still reach it
/// over TCP: its answers go back on their connections, never to their source ports,
/// where nobody listens (issue 12, item 10).
@Suite(.serialized) struct UnknownSenderTests {
    @Test func aRestartedNodeAnswersPeersItDoesNotKnowYetOnTheirConnections() async throws {
        let cluster = AgentCluster(size: 2)
        defer { cluster.stop() }
        try cluster.start()
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) }, "\(cluster.logs)")
        let (restarted, peer) = (cluster.agents[0], cluster.agents[1])
        restarted.signal(SIGKILL)
        _ = await restarted.waitForExit(timeout: .seconds(10))
        // No --join: it learns of its peer only from what the peer sends it.
        try restarted.start(key: cluster.key)
        #expect(
            await eventually { restarted.isHealthy },
            "\(restarted.logText)")
        let met = await eventually(timeout: .seconds(20)) {
            restarted.members()[peer.name] == "alive" && peer.members()[restarted.name] == "alive"
        }
        #expect(met, "\(cluster.logs)")
        // Three more gossip rounds on each side: each exchanges over TCP, where a reply
        // sent to the peer's source port would be a network error.
        let rounds = (restarted.metric("hearsay_gossip_rounds_total"), peer.metric("hearsay_gossip_rounds_total"))
        let moreRounds = await eventually {
            restarted.metric("hearsay_gossip_rounds_total") >= rounds.0 + 3
                && peer.metric("hearsay_gossip_rounds_total") >= rounds.1 + 3
        }
        #expect(moreRounds)
        let errors = restarted.metric("hearsay_network_errors_total")
        #expect(errors == 0, "the restarted node counted \(errors) network errors\n\(cluster.logs)")
    }
}
