import Foundation
import HearsayCore
import HearsayNode
import Synchronization
import Testing

/// Bursts of writes on two nodes of a three-node cluster at once, with no attacker: no
/// legitimate frame is dropped as a replay (issue 12, item 8).
@Suite(.serialized) struct ReplayStormTests {
    /// Frames and messages one agent dropped as `replay`, with the reasons the log gave.
    static func replayDrops(_ agent: AgentProcess) -> Double {
        guard let text = try? agent.client.request("GET", "/metrics").text else { return -1 }
        return text.split(separator: "\n").filter {
            $0.hasPrefix("hearsay_messages_dropped_total{") && $0.contains("reason=\"replay\"")
        }.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }

    @Test func parallelStormsOfWritesDropNothingAsAReplay() async throws {
        let cluster = AgentCluster(size: 3)
        defer { cluster.stop() }
        // In memory: without an fdatasync per write, the storms seal frames several
        // times faster, as an agent on a fast disk does.
        try cluster.start(persistent: false)
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) }, "\(cluster.logs)")
        let writes = 3000
        let clients = 8
        // Threads of their own: the clients block, and the test runner's pool has one
        // thread per core.
        let acknowledged = Mutex(0)
        let done = DispatchGroup()
        for agent in [cluster.agents[0], cluster.agents[1]] {
            for client in 0..<clients {
                done.enter()
                Thread.detachNewThread {
                    var count = 0
                    for i in stride(from: client, to: writes, by: clients) {
                        // Both nodes write the same entries (conflicts, alerts), and one write
                        // in ten is too large for a datagram (pushed over TCP).
                        let value: JSONValue =
                            i % 10 == 0 ? .string(String(repeating: "x", count: 2000) + "\(i)") : .number(Double(i))
                        let answer = try? agent.put("storm/\(i % 200)", value)
                        if answer?.status == 200 { count += 1 }
                    }
                    acknowledged.withLock { $0 += count }
                    done.leave()
                }
            }
        }
        await withCheckedContinuation { continuation in
            done.notify(queue: .global()) { continuation.resume() }
        }
        let acknowledgedCount = acknowledged.withLock { $0 }
        #expect(acknowledgedCount == 2 * writes)
        // Every node ends with the same versions of every entry.
        let converged = await eventually(timeout: .seconds(60)) {
            (0..<200).allSatisfy { entry in
                let held = cluster.agents.map { $0.values("storm/\(entry)") }
                return !held[0].isEmpty && held.allSatisfy { $0 == held[0] }
            }
        }
        #expect(converged, "\(cluster.logs)")
        let drops = cluster.agents.map(Self.replayDrops)
        print("replay drops after two storms of \(writes) writes: \(drops)")
        #expect(drops == [0, 0, 0], "dropped as replays: \(drops)\n\(cluster.logs)")
    }
}
