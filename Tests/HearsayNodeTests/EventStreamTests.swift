import Foundation
import HearsayCore
import HearsayNode
import Synchronization
import Testing

/// `GET /v1/events` on real agents: what a watcher on one node sees of writes, deletes,
/// conflicts and failures elsewhere; filters; resuming; and a reader too slow to keep.
@Suite(.serialized) struct EventStreamTests {
    /// The lines of one stream, read on a thread of its own (a blocked socket must not
    /// hold one of the threads that run the tests' tasks) until the agent ends it.
    final class Watcher: Sendable {
        private let lines = Mutex<[String]>([])
        private let ending = Mutex<String?>(nil)

        init(_ agent: AgentProcess, _ path: String) {
            let client = agent.client
            Thread.detachNewThread { [self] in
                do {
                    try client.stream(path) { line in
                        self.lines.withLock { $0.append(line) }
                        return true
                    }
                    self.ending.withLock { $0 = "the agent ended the stream" }
                } catch {
                    self.ending.withLock { $0 = "\(error)" }
                }
            }
        }

        var lineCount: Int { lines.withLock { $0.count } }

        /// Why the stream ended, if it has: for the messages of failed expectations.
        var ended: String { ending.withLock { $0 } ?? "still open" }

        /// The events but heartbeats, which come every 30 s to every stream whatever its
        /// filter, at any moment of a test on a loaded machine.
        var events: [[String: JSONValue]] {
            lines.withLock { $0 }.compactMap { line in
                guard case .object(let fields)? = try? JSONValue.parse(line), fields["type"] != .string("heartbeat")
                else { return nil }
                return fields
            }
        }

        func saw(_ type: String, where match: ([String: JSONValue]) -> Bool = { _ in true }) -> Bool {
            events.contains { $0["type"] == .string(type) && match($0) }
        }
    }

    /// A connection that sent `request` as it is, to be read (or not) by the test.
    private func rawStream(_ agent: AgentProcess, _ request: String, receiveBuffer: Int32? = nil) throws
        -> RawConnection
    {
        guard let connection = RawConnection(port: agent.httpPort, receiveBuffer: receiveBuffer) else {
            throw POSIXError(.ECONNREFUSED)
        }
        connection.send(Array(request.utf8))
        return connection
    }

    /// What `connection` sends until `done` holds of it, or 30 s pass.
    private func readUntil(_ connection: RawConnection, _ done: (String) -> Bool) async -> String {
        let fd = connection.fd
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 { bytes += chunk[0..<n] } else if n == 0 { break }
            if done(String(decoding: bytes, as: UTF8.self)) { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func streams(_ agent: AgentProcess) -> Double { agent.metric("hearsay_event_streams ") }

    @Test func aWatcherSeesWritesDeletesAndAFailureElsewhereFilteredAsAsked() async throws {
        let cluster = AgentCluster(size: 3)
        defer { cluster.stop() }
        try cluster.start()
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) }, "\(cluster.logs)")
        let (a, b, c) = (cluster.agents[0], cluster.agents[1], cluster.agents[2])

        let everything = Watcher(b, "/v1/events")
        let watched = Watcher(b, "/v1/events?types=metadata&prefix=watched/")
        let members = Watcher(b, "/v1/events?types=member_failed,member_suspect")
        #expect(await eventually { streams(b) == 3 }, "streams open: \(streams(b))")

        #expect(try a.put("watched/x", .string("hello")).status == 200)
        #expect(try a.put("other/y", .number(1)).status == 200)
        #expect(try b.put("watched/local", .bool(true)).status == 200)
        #expect(await eventually { b.values("other/y") == [.number(1)] })
        let remote = await eventually {
            everything.saw("metadata_written") {
                $0["address"] == .string("watched/x") && $0["origin"] == .string("remote")
                    && $0["value"] == .string("hello") && $0["updated_by"] == .string(a.name)
            }
        }
        #expect(remote, "\(everything.events)")
        let local = await eventually {
            everything.saw("metadata_written") {
                $0["address"] == .string("watched/local") && $0["origin"] == .string("local")
            }
        }
        #expect(local, "\(everything.events)")
        #expect(await eventually { watched.events.count == 2 }, "\(watched.events)")
        #expect(watched.events.allSatisfy { ($0["address"].map { "\($0)" } ?? "").contains("watched/") })

        #expect(try a.client.request("DELETE", "/v1/metadata/watched/x").status == 200)
        #expect(await eventually { watched.saw("metadata_deleted") { $0["address"] == .string("watched/x") } })

        c.signal(SIGKILL)
        let failed = await eventually(timeout: .seconds(60)) {
            members.saw("member_failed") { $0["member"] == .string(c.name) }
        }
        #expect(failed, "\(members.events)\n\(cluster.logs)")
        #expect(
            members.events.allSatisfy {
                $0["type"] == .string("member_failed") || $0["type"] == .string("member_suspect")
            })
        #expect(await eventually { everything.saw("member_failed") { $0["member"] == .string(c.name) } })
        // Indexes count up by one, in order, on the unfiltered stream.
        let indexes = everything.events.compactMap { event -> Double? in
            if case .number(let n)? = event["index"] { return n }
            return nil
        }
        #expect(indexes.count >= 5)
        #expect(zip(indexes, indexes.dropFirst()).allSatisfy { $1 == $0 + 1 }, "\(indexes)")
        #expect(watched.events.count == 3)
    }

    @Test(.enabled(if: Firewall.available, "needs root and iptables to partition loopback ports"))
    func aWatcherSeesAConflictFoundAndResolved() async throws {
        let cluster = AgentCluster(size: 3)
        defer { cluster.stop() }
        try cluster.start()
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) })
        let (a, b, c) = (cluster.agents[0], cluster.agents[1], cluster.agents[2])
        let watcher = Watcher(c, "/v1/events?types=metadata")
        #expect(await eventually { streams(c) == 1 })
        let heal = Firewall.blockInbound(ports: [a.gossipPort, b.gossipPort])
        defer { heal() }
        #expect(try a.put("config/limit", .number(10)).status == 200)
        #expect(try b.put("config/limit", .number(20)).status == 200)
        try await Task.sleep(for: .milliseconds(500))
        heal()
        let conflicted = await eventually {
            watcher.saw("metadata_conflicted") {
                $0["address"] == .string("config/limit") && $0["siblings"] == .number(2)
            }
        }
        #expect(conflicted, "\(watcher.events)\n\(cluster.logs)")
        #expect(try c.put("config/limit", .number(30)).status == 200)
        #expect(await eventually { watcher.saw("metadata_resolved") { $0["address"] == .string("config/limit") } })
    }

    @Test func aStreamResumesAfterAnIndexAndSaysWhenEventsWereLost() async throws {
        let cluster = AgentCluster(size: 1)
        defer { cluster.stop() }
        try cluster.start()
        let agent = cluster.agents[0]
        #expect(await eventually { agent.members()[agent.name] == "alive" })
        let first = Watcher(agent, "/v1/events?types=metadata")
        #expect(await eventually { streams(agent) == 1 })
        for n in 0..<5 { #expect(try agent.put("resume/\(n)", .number(Double(n))).status == 200) }
        #expect(await eventually { first.events.count == 5 })
        guard first.events.count >= 2, case .number(let second)? = first.events[1]["index"] else {
            Issue.record("no index: \(first.events)")
            return
        }
        // Resumes after the second write: the three after it, nothing before.
        let resumed = Watcher(agent, "/v1/events?types=metadata&index=\(Int(second))")
        #expect(await eventually { resumed.events.count == 3 }, "\(resumed.events)")
        #expect(resumed.events.map { $0["address"] } == (2..<5).map { .string("resume/\($0)") })

        // An index past the node's last event (it restarted since): said at once.
        let ahead = Watcher(agent, "/v1/events?index=1000000")
        #expect(await eventually { ahead.events.first?["type"] == .string("events_lost") }, "\(ahead.events)")
        // Server-sent events, resumed with Last-Event-ID as EventSource does.
        let sse = try rawStream(
            agent,
            "GET /v1/events?types=metadata HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
                + "Last-Event-ID: \(Int(second))\r\n\r\n")
        let text = await readUntil(sse) { $0.contains("resume/4") }
        #expect(text.contains("Content-Type: text/event-stream") && text.contains("X-Hearsay-Index: "), "\(text)")
        #expect(text.contains("\nid: \(Int(second) + 1)\nevent: metadata_written\ndata: {"), "\(text)")
        #expect(!text.contains("resume/1"), "\(text)")

        // Past the history kept (1,024 events): the stream says so first.
        for n in 0..<1100 { _ = try agent.put("flood/\(n % 10)", .number(Double(n))) }
        let late = Watcher(agent, "/v1/events?index=1")
        #expect(await eventually { late.events.count >= 1024 }, "\(late.events.count)")
        #expect(late.events.first?["type"] == .string("events_lost"), "\(late.events.prefix(2))")
    }

    @Test func aReaderTooSlowIsCutOffWithAFinalEventAndClosedEvenIfItNeverReadsAgain() async throws {
        let cluster = AgentCluster(size: 1)
        defer { cluster.stop() }
        try cluster.start()
        let agent = cluster.agents[0]
        #expect(await eventually { agent.members()[agent.name] == "alive" })
        // A client that asks and never reads, with a tiny receive buffer.
        let stream = try rawStream(agent, "GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n", receiveBuffer: 4096)
        defer { withExtendedLifetime(stream) {} }
        let fd = stream.fd
        #expect(await eventually { streams(agent) == 1 })
        let reader = Watcher(agent, "/v1/events?types=member")
        #expect(await eventually { streams(agent) == 2 })
        let big = JSONValue.string(String(repeating: "x", count: 8_000))
        var written = 0
        while agent.metric("hearsay_event_streams_cut_total") < 1 && written < 3_000 {
            _ = try agent.put("big/\(written % 50)", big)
            written += 1
        }
        #expect(agent.metric("hearsay_event_streams_cut_total") == 1, "after \(written) writes")
        #expect(await eventually { streams(agent) == 1 }, "\(streams(agent)) streams")
        // Its last bytes, once read, say why; the stream that keeps up is still open.
        var tail: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            tail += chunk[0..<n]
            if tail.count > 64 * 1024 * 1024 { break }
        }
        #expect(String(decoding: tail.suffix(2_000), as: UTF8.self).contains("\"type\":\"stream_cut\""))
        // A second client cut and never read from is closed all the same, once the grace
        // after its cut is over, dropping what it held.
        let silent = try rawStream(agent, "GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n", receiveBuffer: 4096)
        defer { withExtendedLifetime(silent) {} }
        #expect(await eventually { streams(agent) == 2 })
        let connections = agent.metric("hearsay_connections{port=\"http\"}")
        while agent.metric("hearsay_event_streams_cut_total") < 2 && written < 6_000 {
            _ = try agent.put("big/\(written % 50)", big)
            written += 1
        }
        #expect(agent.metric("hearsay_event_streams_cut_total") == 2)
        let closed = await eventually(timeout: .seconds(20)) {
            agent.metric("hearsay_connections{port=\"http\"}") < connections
        }
        #expect(closed, "open: \(agent.metric("hearsay_connections{port=\"http\"}")) of \(connections)")
        // The history is bounded in bytes as well (4 MiB): of these 8 KB events it keeps
        // about 500, not 1,024.
        while written < 700 {
            _ = try agent.put("big/\(written % 50)", big)
            written += 1
        }
        let replay = Watcher(agent, "/v1/events?index=1")
        #expect(
            await eventually { replay.lineCount > 100 },
            "\(replay.lineCount) lines (\(replay.ended)) after \(written) writes; log: \(agent.logText.suffix(3_000))")
        guard case .number(let oldest)? = replay.events.first?["oldest_held"] else {
            Issue.record("no events_lost first: \(replay.events.prefix(1))")
            return
        }
        #expect(replay.events.first?["type"] == .string("events_lost"))
        #expect(Double(written) - oldest < 600, "after \(written) writes, held from \(oldest)")
        _ = reader
    }

    @Test func anHTTP10ClientGetsItsStreamWithoutChunks() async throws {
        let cluster = AgentCluster(size: 1)
        defer { cluster.stop() }
        try cluster.start()
        let agent = cluster.agents[0]
        #expect(await eventually { agent.members()[agent.name] == "alive" })
        let fd = try rawStream(agent, "GET /v1/events?types=metadata HTTP/1.0\r\n\r\n")
        #expect(await eventually { streams(agent) == 1 })
        #expect(try agent.put("old/client", .number(7)).status == 200)
        let text = await readUntil(fd) { $0.contains("old/client") && $0.hasSuffix("\n") }
        let parts = text.split(separator: "\r\n\r\n", maxSplits: 1)
        #expect(parts.count == 2, "\(text)")
        let head = parts.first.map(String.init) ?? ""
        #expect(head.hasPrefix("HTTP/1.0 200"), "\(head)")
        // HTTP/1.0 knows no chunks: the body is the events' lines and nothing between them.
        #expect(!head.lowercased().contains("transfer-encoding"), "\(head)")
        let lines = parts.dropFirst().first?.split(separator: "\n") ?? []
        #expect(!lines.isEmpty)
        for line in lines {
            guard case .object? = try? JSONValue.parse(String(line)) else {
                Issue.record("not an event: \(line)")
                continue
            }
        }
    }

    @Test func anAgentThatStopsEndsItsStreamsWithAFinalEvent() async throws {
        let cluster = AgentCluster(size: 1)
        defer { cluster.stop() }
        try cluster.start()
        let agent = cluster.agents[0]
        #expect(await eventually { agent.members()[agent.name] == "alive" })
        let watchers = (0..<3).map { _ in Watcher(agent, "/v1/events") }
        #expect(await eventually { streams(agent) == 3 })
        #expect(try agent.put("before/stop", .number(1)).status == 200)
        agent.signal(SIGTERM)
        let status = await agent.waitForExit(timeout: .seconds(30))
        #expect(status == 0, "\(agent.logText)")
        for watcher in watchers {
            #expect(await eventually { watcher.events.last?["type"] == .string("stream_end") }, "\(watcher.events)")
        }
    }

    /// `hearsay watch` in a process of its own, run to its `--count`.
    private func watch(_ arguments: [String]) -> Task<ProgramRun?, Never> {
        Task {
            await withCheckedContinuation { done in
                Thread.detachNewThread {
                    done.resume(
                        returning: try? ProgramRun(HearsayBinary.path, ["watch"] + arguments, timeout: .seconds(90)))
                }
            }
        }
    }

    @Test func hearsayWatchPrintsEachEventForPeopleOrAsJSON() async throws {
        let cluster = AgentCluster(size: 1)
        defer { cluster.stop() }
        try cluster.start()
        let agent = cluster.agents[0]
        #expect(await eventually { agent.members()[agent.name] == "alive" })
        let address = ["--http-addr", "127.0.0.1:\(agent.httpPort)"]
        let people = watch(["--metadata", "--count", "2"] + address)
        let scripts = watch(["--json", "--prefix", "app/", "--count", "1"] + address)
        #expect(await eventually { streams(agent) == 2 })
        #expect(try agent.put("other/a", .number(1)).status == 200)
        #expect(try agent.put("app/b", .string("two")).status == 200)
        let text = try #require(await people.value)
        #expect(text.status == 0, "\(text.output)")
        let lines = text.output.split(separator: "\n")
        #expect(lines.count == 2, "\(text.output)")
        #expect(lines.first?.contains(" metadata_written other/a origin=local version=1 ") == true, "\(text.output)")
        #expect(lines.last?.hasSuffix("value=\"two\"") == true, "\(text.output)")
        let json = try #require(await scripts.value)
        #expect(json.status == 0, "\(json.output)")
        guard
            case .object(let event)? = try? JSONValue.parse(json.output.trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            Issue.record("not one JSON line: \(json.output)")
            return
        }
        #expect(event["type"] == .string("metadata_written") && event["address"] == .string("app/b"))
        let refused = try ProgramRun(HearsayBinary.path, ["watch", "--members", "--metadata"] + address)
        #expect(refused.status != 0 && refused.output.contains("exclude each other"), "\(refused.output)")
    }
}
