import Foundation
import HearsayCore
import HearsayNode
import Testing

/// A node that joins a cluster whose store is ten times its largest stream frame
/// catches up completely, through anti-entropy in pages (issue 12, item 5).
@Suite(.serialized) struct CatchUpTests {
    @Test func aNewNodeCatchesUpWithAStoreTenFramesLarge() async throws {
        let cluster = AgentCluster(size: 3)
        defer { cluster.stop() }
        let (seed, peer, newcomer) = (cluster.agents[0], cluster.agents[1], cluster.agents[2])
        // The smallest frame the agent allows: pages of 16 KiB.
        let frame = 64 * 1024
        let extra = ["--max-stream-frame-bytes", "\(frame)"]
        try seed.start(key: cluster.key, extra: extra)
        try peer.start(key: cluster.key, join: [seed.gossipPort], extra: extra)
        #expect(await eventually { seed.members()[peer.name] == "alive" }, "\(cluster.logs)")
        let entries = 700
        // Random text: frames are compressed, and a repeated letter would shrink to nothing.
        let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        for i in 0..<entries {
            let value = JSONValue.string(String((0..<1000).map { _ in letters.randomElement()! }))
            #expect(try seed.put("bulk/\(i)", value).status == 200)
        }
        func held(_ agent: AgentProcess) -> Double { agent.metric("hearsay_metadata_entries") }
        #expect(await eventually(timeout: .seconds(60)) { held(peer) == Double(entries) }, "\(cluster.logs)")
        // The writes' broadcasts go out a datagram a gossip tick (one 1 KB version each)
        // and take minutes to be spent: the newcomer learns most of the store from
        // anti-entropy, which streams it in pages, as the log must show.
        try newcomer.start(key: cluster.key, join: [seed.gossipPort], extra: extra)
        let caughtUp = await eventually(timeout: .seconds(60)) { held(newcomer) == Double(entries) }
        #expect(caughtUp, "the newcomer holds \(held(newcomer)) of \(entries)\n\(cluster.logs)")
        #expect(newcomer.logText.contains("\"sync_streaming\""), "the store did not stream in pages")
        let tooLarge = cluster.agents.map { agent in
            ((try? agent.client.request("GET", "/metrics").text) ?? "").split(separator: "\n").filter {
                $0.hasPrefix("hearsay_messages_dropped_total{") && $0.contains("too_large")
            }.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
        }
        #expect(tooLarge == [0, 0, 0], "frames dropped as too large: \(tooLarge)")
    }
}
