import Foundation
import HearsayCore
import HearsayWire
import Testing

/// What a stranger, or a peer gone wrong, can make an agent hold through its gossip TCP
/// port is bounded before any frame is authenticated (issue 13, item 1).
@Suite(.serialized) struct GossipStreamLimitTests {
    private func started(_ extra: [String]) async throws -> (AgentCluster, AgentProcess) {
        let cluster = AgentCluster(size: 1)
        let agent = cluster.agents[0]
        try agent.start(key: cluster.key, extra: extra, persistent: false)
        #expect(await eventually { agent.isHealthy }, "\(agent.logText)")
        return (cluster, agent)
    }

    private func cuts(_ agent: AgentProcess, _ reason: String) -> Double {
        agent.metric("hearsay_connections_cut_total{port=\"gossip\",reason=\"\(reason)\"}")
    }

    @Test func aStrangerCannotMakeTheAgentBufferAFrame() async throws {
        let (cluster, agent) = try await started(["--max-gossip-connections-per-address", "1000"])
        defer { cluster.stop() }
        let before = agent.metric("process_resident_memory_bytes")
        // The attack that took an agent to 1.66 GB: 100 connections, each declaring a frame
        // just under the 16 MiB cap and sending its bytes.
        let junk = [UInt8](repeating: 0x5A, count: 256 * 1024)
        let connections = (0..<100).compactMap { _ in RawConnection(port: agent.gossipPort) }
        #expect(connections.count == 100)
        for connection in connections {
            connection.send(RawConnection.prefix(16 * 1024 * 1024 - 100) + junk)
        }
        for (index, connection) in connections.enumerated() {
            #expect(connection.readUntilClosed(seconds: 10).closed, "connection \(index) stayed open")
        }
        #expect(await eventually { cuts(agent, "bad_frame") == 100 }, "cut: \(cuts(agent, "bad_frame"))")
        #expect(agent.metric("hearsay_messages_dropped_total{type=\"unknown\",reason=\"too_large\"}") == 100)
        let after = agent.metric("process_resident_memory_bytes")
        #expect(after < before + 64 * 1024 * 1024, "resident \(before) -> \(after) bytes")
        #expect(agent.logText.contains("\"event\":\"connection_cut\""), "the cut was not logged")

        // A small frame without a valid signature ends its connection too.
        let forged = try #require(RawConnection(port: agent.gossipPort))
        forged.send(RawConnection.prefix(200) + [UInt8](repeating: 1, count: 200))
        #expect(forged.readUntilClosed(seconds: 10).closed)
        #expect(await eventually { cuts(agent, "bad_frame") == 101 })
        #expect(await eventually { agent.metric("hearsay_connections{port=\"gossip\"}") == 0 })
    }

    @Test func aTrickleLosesItsConnectionAtTheFrameDeadline() async throws {
        let (cluster, agent) = try await started(["--stream-timeout", "2s"])
        defer { cluster.stop() }
        let trickle = try #require(RawConnection(port: agent.gossipPort))
        let silent = try #require(RawConnection(port: agent.gossipPort))
        trickle.send(RawConnection.prefix(1000))
        // A byte every 300 ms would restart an idle timer forever; the frame's deadline
        // ends it. Given 15 s, far past the 2 s deadline.
        let start = ContinuousClock.now
        while !trickle.isClosedByPeer, ContinuousClock.now - start < .seconds(15) {
            trickle.send([0])
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(trickle.isClosedByPeer, "the trickling connection stayed open")
        #expect(silent.readUntilClosed(seconds: 10).closed, "a connection that sent nothing stayed open")
        #expect(await eventually { cuts(agent, "deadline") == 2 }, "deadline cuts: \(cuts(agent, "deadline"))")
    }

    @Test func connectionsOverTheLimitsAreRefused() async throws {
        let (cluster, agent) = try await started([
            "--max-gossip-connections", "8", "--max-gossip-connections-per-address", "4",
        ])
        defer { cluster.stop() }
        func refused(_ reason: String) -> Double {
            agent.metric("hearsay_connections_refused_total{port=\"gossip\",reason=\"\(reason)\"}")
        }
        let first = (0..<4).compactMap { _ in RawConnection(port: agent.gossipPort) }
        #expect(await eventually { agent.metric("hearsay_connections{port=\"gossip\"}") == 4 })
        let fifth = try #require(RawConnection(port: agent.gossipPort))
        #expect(fifth.readUntilClosed(seconds: 5).closed, "a fifth connection from one address was kept")
        #expect(await eventually { refused("address_limit") == 1 })
        // Other sources still get in, up to the total.
        let second = (0..<4).compactMap { _ in RawConnection(port: agent.gossipPort, source: "127.0.0.2") }
        #expect(await eventually { agent.metric("hearsay_connections{port=\"gossip\"}") == 8 })
        let ninth = try #require(RawConnection(port: agent.gossipPort, source: "127.0.0.3"))
        #expect(ninth.readUntilClosed(seconds: 5).closed, "a ninth connection was kept")
        #expect(await eventually { refused("limit") == 1 })
        for connection in first + second { #expect(!connection.isClosedByPeer) }
        withExtendedLifetime(first + second) {}
    }

    @Test func framesInProgressShareTheBufferBudget() async throws {
        let (cluster, agent) = try await started([
            "--max-stream-frame-bytes", "65536", "--max-stream-buffer-bytes", "100000",
        ])
        defer { cluster.stop() }
        let key = try #require(Data(base64Encoded: cluster.key))
        let codec = FrameCodec(
            sender: NodeID(unchecked: "peer"), keyring: try Keyring(primary: Array(key)),
            nowMillis: Int64(Date().timeIntervalSince1970 * 1000))
        func introduced() -> [UInt8] {
            StreamFraming.prefixed(codec.seal([], nowMillis: Int64(Date().timeIntervalSince1970 * 1000), via: .stream))
        }
        // An authenticated connection may start a frame over the stranger's limit...
        var first: RawConnection? = try #require(RawConnection(port: agent.gossipPort))
        first?.send(introduced() + RawConnection.prefix(60_000) + [UInt8](repeating: 0, count: 1000))
        #expect(await eventually { agent.metric("hearsay_connection_buffered_bytes{port=\"gossip\"}") == 60_004 })
        // ...but two such frames at once would pass the budget.
        let second = try #require(RawConnection(port: agent.gossipPort))
        second.send(introduced() + RawConnection.prefix(60_000) + [UInt8](repeating: 0, count: 1000))
        #expect(second.readUntilClosed(seconds: 5).closed, "a frame past the budget was kept")
        #expect(await eventually { cuts(agent, "budget") == 1 })
        #expect(first?.isClosedByPeer == false)
        // The bytes held come back when a connection ends inside its frame.
        first = nil
        #expect(await eventually { agent.metric("hearsay_connection_buffered_bytes{port=\"gossip\"}") == 0 })
        #expect(agent.metric("hearsay_messages_dropped_total{type=\"unknown\",reason=\"bad_signature\"}") == 0)
    }
}
