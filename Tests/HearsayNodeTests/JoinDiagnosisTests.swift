import Foundation
import Testing

/// A join that times out says why it likely failed (issue 13, item 8): a node with the
/// wrong key used to log only `join_timeout`, the same as for a seed that is down.
@Suite(.serialized) struct JoinDiagnosisTests {
    private func joinTimeoutLine(_ agent: AgentProcess) -> String? {
        agent.logText.split(separator: "\n").first { $0.contains("\"event\":\"join_timeout\"") }.map(String.init)
    }

    @Test func aSeedWithAnotherKeyIsNamedAsTheLikelyCause() async throws {
        let cluster = AgentCluster(size: 2)
        defer { cluster.stop() }
        let (seed, joiner) = (cluster.agents[0], cluster.agents[1])
        try seed.start(key: cluster.key, persistent: false)
        try joiner.start(key: Base64Key.make(), join: [seed.gossipPort], persistent: false)
        #expect(await eventually { joinTimeoutLine(joiner) != nil }, "\(joiner.logText)")
        let line = joinTimeoutLine(joiner) ?? ""
        #expect(line.contains("\"likely_cause\":\"key_mismatch\""), "\(line)")
        #expect(line.contains("same cluster key"), "\(line)")
        #expect(seed.metric("hearsay_messages_dropped_total{type=\"unknown\",reason=\"unknown_key\"}") > 0)
    }

    @Test func aSeedNobodyListensAtIsNamedUnreachable() async throws {
        let cluster = AgentCluster(size: 1)
        defer { cluster.stop() }
        let nobody = FreePorts.take(1)[0]
        try cluster.agents[0].start(key: cluster.key, join: [nobody], persistent: false)
        #expect(await eventually { joinTimeoutLine(cluster.agents[0]) != nil })
        let line = joinTimeoutLine(cluster.agents[0]) ?? ""
        #expect(line.contains("\"likely_cause\":\"unreachable\""), "\(line)")
    }
}
