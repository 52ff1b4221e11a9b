import Foundation
import HearsayCore
import Testing

/// The HTTP port holds a bounded number of connections, refused cleanly past the limit
/// and fitted under the descriptor limit with room for gossip (issue 13, item 2), and
/// request bodies arrive within a deadline and a shared budget (item 4).
@Suite(.serialized) struct HTTPLimitTests {
    private func started(_ extra: [String], launcher: [String] = []) async throws -> (AgentCluster, AgentProcess) {
        let cluster = AgentCluster(size: 1)
        let agent = cluster.agents[0]
        try agent.start(key: cluster.key, extra: extra, launcher: launcher, persistent: false)
        #expect(await eventually { agent.isHealthy }, "\(agent.logText)")
        return (cluster, agent)
    }

    private static let healthz = Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8)

    private static func chunkedPut(_ address: String) -> [UInt8] {
        Array("PUT /v1/metadata/\(address) HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
    }

    private static func chunk(_ size: Int) -> [UInt8] {
        Array((String(size, radix: 16) + "\r\n").utf8) + [UInt8](repeating: 0x20, count: size) + Array("\r\n".utf8)
    }

    @Test func connectionsOverTheLimitsAreAnswered503() async throws {
        let (cluster, agent) = try await started([
            "--max-http-connections", "8", "--max-http-connections-per-address", "3",
        ])
        defer { cluster.stop() }
        func refused(_ reason: String) -> Double {
            agent.metric("hearsay_connections_refused_total{port=\"http\",reason=\"\(reason)\"}")
        }
        // The metrics are read over connections of their own, which come and go.
        let held = (0..<2).compactMap { _ in RawConnection(port: agent.httpPort) }
        #expect(await eventually { agent.metric("hearsay_connections{port=\"http\"}") == 3 })
        let third = try #require(RawConnection(port: agent.httpPort))
        let fourth = try #require(RawConnection(port: agent.httpPort))
        fourth.send(Self.healthz)
        let answer = fourth.readUntilClosed(seconds: 5)
        #expect(String(decoding: answer.bytes, as: UTF8.self).hasPrefix("HTTP/1.1 503"), "\(answer)")
        #expect(answer.closed)
        // The held connections still work.
        third.send(Self.healthz)
        let ok = String(decoding: third.readUntilClosed(seconds: 1).bytes, as: UTF8.self)
        #expect(ok.hasPrefix("HTTP/1.1 200"), "\(ok)")
        let others = (0..<5).compactMap { index in
            RawConnection(port: agent.httpPort, source: index < 3 ? "127.0.0.2" : "127.0.0.4")
        }
        let beyond = try #require(RawConnection(port: agent.httpPort, source: "127.0.0.3"))
        beyond.send(Self.healthz)
        #expect(String(decoding: beyond.readUntilClosed(seconds: 5).bytes, as: UTF8.self).hasPrefix("HTTP/1.1 503"))
        withExtendedLifetime(held + [third] + others) {}
        for connection in held + [third] + others { Foundation.shutdown(connection.fd, Int32(SHUT_RDWR)) }
        #expect(await eventually { refused("address_limit") >= 1 && refused("limit") >= 1 })
        #expect(agent.logText.contains("\"event\":\"connection_refused\""))
    }

    @Test func aFloodOfClientsLeavesDescriptorsForGossip() async throws {
        let cluster = AgentCluster(size: 2)
        defer { cluster.stop() }
        let (flooded, peer) = (cluster.agents[0], cluster.agents[1])
        // 512 descriptors, the HTTP limit left at its default of 1024: the agent fits its
        // limits under the descriptors, keeping room for gossip.
        try flooded.start(key: cluster.key, launcher: ["prlimit", "--nofile=512:512"], persistent: false)
        try peer.start(key: cluster.key, join: [flooded.gossipPort], persistent: false)
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) }, "\(cluster.logs)")
        #expect(flooded.logText.contains("\"event\":\"connection_limits_lowered\""), "\(flooded.logText)")
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = max(limit.rlim_cur, min(limit.rlim_max, 4096))
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        // More keep-alive clients than the agent has descriptors.
        let flood = (0..<600).compactMap { index in
            RawConnection(port: flooded.httpPort, source: "127.0.\(1 + index / 200).\(2 + index % 200)")
        }
        #expect(flood.count == 600)
        // While they hold every place, gossip TCP (anti-entropy every second) carries writes.
        for index in 0..<5 { _ = try peer.put("flood/\(index)", .number(Double(index))) }
        try await Task.sleep(for: .seconds(4))
        for connection in flood { Foundation.shutdown(connection.fd, Int32(SHUT_RDWR)) }
        withExtendedLifetime(flood) {}
        #expect(await eventually { flooded.isHealthy })
        #expect(await eventually { (0..<5).allSatisfy { !flooded.values("flood/\($0)").isEmpty } })
        #expect(
            flooded.metric("hearsay_connections_refused_total{port=\"http\",reason=\"limit\"}") > 0,
            "the flood was not refused")
        #expect(!flooded.logText.contains("Too many open files"), "\(flooded.logText.suffix(3000))")
        #expect(cluster.allSee(cluster.everyoneAlive()))
    }

    @Test func anUnfinishedRequestIsCutAtItsDeadline() async throws {
        let (cluster, agent) = try await started(["--http-request-timeout", "2s"])
        defer { cluster.stop() }
        let body = try #require(RawConnection(port: agent.httpPort))
        let header = try #require(RawConnection(port: agent.httpPort))
        body.send(Self.chunkedPut("slow") + Self.chunk(1000))
        header.send(Array("GET /healthz HTTP/1.1\r\n".utf8))
        // A byte every 300 ms would restart the 60 s idle timer forever.
        let start = ContinuousClock.now
        while !(body.isClosedByPeer && header.isClosedByPeer), ContinuousClock.now - start < .seconds(15) {
            body.send(Self.chunk(1))
            header.send(Array("X".utf8))
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(body.isClosedByPeer, "a body that never ends kept its connection")
        #expect(header.isClosedByPeer, "a header sent a byte at a time kept its connection")
        #expect(
            await eventually { agent.metric("hearsay_connections_cut_total{port=\"http\",reason=\"deadline\"}") == 2 })
        #expect(agent.values("slow").isEmpty)
        // A keep-alive connection idle between requests is not cut by the deadline. A
        // connection opened after it with a request left unfinished is: once that one is
        // cut, the idle one has been idle past its deadline too.
        let idle = try #require(RawConnection(port: agent.httpPort))
        idle.send(Self.healthz)
        let witness = try #require(RawConnection(port: agent.httpPort))
        witness.send(Array("GET /healthz HTTP/1.1\r\n".utf8))
        #expect(await eventually { witness.isClosedByPeer }, "the witness was not cut at its deadline")
        #expect(!idle.isClosedByPeer)
        #expect(agent.metric("hearsay_connections_cut_total{port=\"http\",reason=\"deadline\"}") == 3)
    }

    /// A blocking query drops its connection's deadline check while it waits (thousands
    /// may wait at once): the request after its answer, on the same connection, has a
    /// deadline again.
    @Test func aRequestAfterABlockingQueryStillHasItsDeadline() async throws {
        let (cluster, agent) = try await started(["--http-request-timeout", "2s"])
        defer { cluster.stop() }
        let missing = try agent.client.request("GET", "/v1/metadata/quiet/key")
        let seen = try #require(missing.header("X-Hearsay-Index"))
        let connection = try #require(RawConnection(port: agent.httpPort))
        // It waits past the request timeout: the wait is not the request's arrival.
        connection.send(Array("GET /v1/metadata/quiet/key?index=\(seen)&wait=3s HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(await eventually { agent.metric("hearsay_blocking_queries") == 1 })
        let answer = connection.readUntilClosed(seconds: 5)
        #expect(!answer.closed, "the connection of a waiting query was cut")
        #expect(String(decoding: answer.bytes, as: UTF8.self).contains("404"), "the query was not answered")
        connection.send(Array("GET /healthz HTTP/1.1\r\n".utf8))
        let start = ContinuousClock.now
        while !connection.isClosedByPeer, ContinuousClock.now - start < .seconds(15) {
            connection.send(Array("X".utf8))
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(connection.isClosedByPeer, "a header sent a byte at a time after a blocking query kept its connection")
        #expect(
            await eventually { agent.metric("hearsay_connections_cut_total{port=\"http\",reason=\"deadline\"}") == 1 })
    }

    @Test func bodiesInProgressShareTheBudget() async throws {
        let (cluster, agent) = try await started([
            "--max-http-connections-per-address", "1024", "--max-http-buffer-bytes", "16777216",
        ])
        defer { cluster.stop() }
        let before = agent.metric("process_resident_memory_bytes")
        // The attack that took an agent from 60 to 349 MB: 300 bodies of about 1 MB that
        // never finish. 16 of them fill the budget; the rest are answered 503.
        let connections = (0..<300).compactMap { _ in RawConnection(port: agent.httpPort) }
        #expect(connections.count == 300)
        for (index, connection) in connections.enumerated() {
            connection.send(Self.chunkedPut("big\(index)") + Self.chunk(1_000_000))
        }
        let cut = { agent.metric("hearsay_connections_cut_total{port=\"http\",reason=\"budget\"}") }
        #expect(await eventually { cut() >= 300 - 17 }, "\(cut()) of 300 cut")
        var refused = 0
        for connection in connections {
            let answer = connection.readUntilClosed(seconds: 0.2)
            if answer.closed, String(decoding: answer.bytes, as: UTF8.self).hasPrefix("HTTP/1.1 503") { refused += 1 }
        }
        #expect(cut() == Double(refused), "\(refused) answered 503")
        #expect(agent.metric("hearsay_connection_buffered_bytes{port=\"http\"}") <= 16_777_216)
        let after = agent.metric("process_resident_memory_bytes")
        #expect(after < before + 96 * 1024 * 1024, "resident \(before) -> \(after) bytes")
        for connection in connections { Foundation.shutdown(connection.fd, Int32(SHUT_RDWR)) }
        #expect(await eventually { agent.metric("hearsay_connection_buffered_bytes{port=\"http\"}") == 0 })
        withExtendedLifetime(connections) {}
    }

    @Test func clientsThatNeverReadTheirAnswersHoldOneAndAreCutAtTheIdleTimeout() async throws {
        let (cluster, agent) = try await started(["--http-idle-timeout", "10s"])
        defer { cluster.stop() }
        // About 6 MB of metadata, far more than the sockets to a client that reads
        // nothing hold.
        let value = JSONValue.string(String(repeating: "v", count: 60_000))
        for index in 0..<100 { #expect(try agent.put("big/\(index)", value).status == 200) }
        let index = try #require(agent.client.request("GET", "/v1/metadata").header("X-Hearsay-Index"))
        // The scrape that reads the gauge is one of the connections it counts.
        let connections = { agent.metric("hearsay_connections{port=\"http\"}") - 1 }
        #expect(await eventually { connections() == 0 })
        let before = agent.metric("process_resident_memory_bytes")
        // One waits in a blocking query (which holds no idle timer) for the whole store,
        // to close after it; the other pipelines 40 requests for it on a kept-alive
        // connection: answered all at once they would hold 240 MB.
        let closer = try #require(RawConnection(port: agent.httpPort, receiveBuffer: 4096))
        closer.send(
            Array("GET /v1/metadata?index=\(index)&wait=1s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
        let pipeliner = try #require(RawConnection(port: agent.httpPort, receiveBuffer: 4096))
        let request = Array("GET /v1/metadata HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        pipeliner.send(Array(repeating: request, count: 40).flatMap { $0 })
        #expect(await eventually { connections() == 2 })
        // Neither takes its answer: both are closed at the idle timeout, the answers
        // dropped with them. Until then the agent holds about one answer each, not 40.
        var peak = before
        let start = ContinuousClock.now
        while connections() > 0, ContinuousClock.now - start < .seconds(30) {
            peak = max(peak, agent.metric("process_resident_memory_bytes"))
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(connections() == 0, "\(connections()) left open")
        #expect(peak < before + 96 * 1024 * 1024, "resident \(before) -> \(peak) bytes")
        #expect(agent.isHealthy)
        withExtendedLifetime((closer, pipeliner)) {}
    }

    @Test func aRequestBehindAnswersTheClientIsSlowToTakeIsNotCutAsUnfinished() async throws {
        // The request deadline (2 s) is shorter than the idle timeout (20 s).
        let (cluster, agent) = try await started(["--http-request-timeout", "2s", "--http-idle-timeout", "20s"])
        defer { cluster.stop() }
        let value = JSONValue.string(String(repeating: "v", count: 60_000))
        for index in 0..<100 { #expect(try agent.put("big/\(index)", value).status == 200) }
        let reader = try #require(RawConnection(port: agent.httpPort, receiveBuffer: 4096))
        reader.send(Array("GET /v1/metadata HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        try await Task.sleep(for: .milliseconds(500))
        // Arrives whole, in a read of its own, behind an answer the client has not
        // taken: it waits on the client, and its deadline has not begun.
        reader.send(Self.healthz)
        // A connection opened after it with a request left unfinished is cut at its
        // deadline: by then the whole request's deadline would have passed as well.
        let witness = try #require(RawConnection(port: agent.httpPort))
        witness.send(Array("GET /healthz HTTP/1.1\r\n".utf8))
        #expect(await eventually { witness.isClosedByPeer }, "the witness was not cut at its deadline")
        let cut = agent.metric("hearsay_connections_cut_total{port=\"http\",reason=\"deadline\"}")
        #expect(cut == 1, "a request that arrived whole was cut as unfinished")
        // Read at last: both answers come, in order, on the connection kept alive.
        let (bytes, _) = reader.readUntilClosed(seconds: 3)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.components(separatedBy: "HTTP/1.1 200 OK").count == 3, "\(text.prefix(200))")
        #expect(text.hasSuffix("\"status\":\"ok\"}\n") || text.contains("\"status\": \"ok\""), "\(text.suffix(200))")
    }
}
