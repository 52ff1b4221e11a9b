import Foundation
import HearsayCore
import HearsayNode
import Testing

/// Blocking queries on real agents: a GET with `index` waits for a change made on
/// another node, answers at once when it is behind, and ends at its `wait`.
@Suite(.serialized) struct BlockingQueryTests {
    private func index(_ response: APIClient.Response) -> UInt64? {
        response.header("X-Hearsay-Index").flatMap(UInt64.init)
    }

    private func waiting(
        _ agent: AgentProcess, _ path: String, timeout: Duration = .seconds(150)
    ) -> Task<(APIClient.Response?, ContinuousClock.Instant), Never> {
        agent.waiting(path, timeout: timeout)
    }

    private func waitingQueries(_ agent: AgentProcess) -> Double { agent.metric("hearsay_blocking_queries") }

    /// A cluster of one started agent, alive in its own view.
    private func oneAgent() async throws -> AgentCluster {
        let cluster = AgentCluster(size: 1)
        do {
            try cluster.start()
        } catch {
            cluster.stop()
            throw error
        }
        let agent = cluster.agents[0]
        #expect(await eventually { agent.members()[agent.name] == "alive" }, "\(cluster.logs)")
        return cluster
    }

    @Test func aWaitingQueryAnswersWhenAnotherNodeWrites() async throws {
        let cluster = AgentCluster(size: 2)
        defer { cluster.stop() }
        try cluster.start()
        let (a, b) = (cluster.agents[0], cluster.agents[1])
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) }, "\(cluster.logs)")

        let missing = try b.client.request("GET", "/v1/metadata/watched/key")
        #expect(missing.status == 404)
        let seen = try #require(index(missing), "no X-Hearsay-Index on a 404")
        let seenAtWriter = try #require(index(try a.client.request("GET", "/v1/metadata/watched/key")))

        // Waits far longer than the test takes, so that an answer that comes is the
        // write's, however slowly a loaded machine runs the test.
        let entry = waiting(b, "/v1/metadata/watched/key?index=\(seen)&wait=2m")
        let prefix = waiting(b, "/v1/metadata?prefix=watched/&index=\(seen)&wait=2m")
        let other = waiting(b, "/v1/metadata/unrelated?index=\(seen)&wait=2m")
        // And one on the node that takes the write: it is durable there, not received.
        let local = waiting(a, "/v1/metadata/watched/key?index=\(seenAtWriter)&wait=2m")
        let parked = await eventually(timeout: .seconds(60)) { waitingQueries(b) == 3 && waitingQueries(a) == 1 }
        #expect(parked, "queries waiting: \(waitingQueries(b)) and \(waitingQueries(a))")

        // A write elsewhere in the store answers none of them.
        #expect(try a.put("elsewhere", .string("x")).status == 200)
        #expect(await eventually { b.entry("elsewhere") != nil })
        #expect(waitingQueries(b) == 3 && waitingQueries(a) == 1)
        #expect(try a.put("watched/key", .string("hello")).status == 200)
        let written = ContinuousClock.now

        let (answer, answeredAt) = await entry.value
        let response = try #require(answer)
        #expect(response.status == 200, "\(response.text)")
        #expect(b.values("watched/key") == [.string("hello")])
        let after = try #require(index(response))
        #expect(after > seen)
        #expect(answeredAt - written < .seconds(30), "answered at the wait's end, not at the write")

        let (localAnswer, localAt) = await local.value
        #expect(localAnswer?.status == 200, "\(localAnswer?.text ?? "no answer")")
        #expect(localAt - written < .seconds(30), "the writer's own query waited for its wait's end")

        let (listed, _) = await prefix.value
        let list = try #require(listed)
        guard case .object(let root)? = list.json, case .array(let entries)? = root["entries"] else {
            Issue.record("not a listing: \(list.text)")
            return
        }
        #expect(entries.count == 1, "\(list.text)")

        // The unrelated entry never changed: its query still waits.
        #expect(waitingQueries(b) == 1, "an unrelated query was answered")
        _ = other

        // Behind the entry's last change: at once. Ahead of the store (as after a
        // restart): at once, with the lower index.
        let behind = try b.client.request("GET", "/v1/metadata/watched/key?index=\(seen)&wait=20s")
        #expect(behind.status == 200)
        let ahead = try b.client.request("GET", "/v1/metadata/watched/key?index=\(after + 1_000_000)&wait=20s")
        #expect(ahead.status == 200)
        #expect(index(ahead).map { $0 < after + 1_000_000 } == true)
    }

    @Test func aQueryEndsAtItsWait() async throws {
        let cluster = try await oneAgent()
        defer { cluster.stop() }
        let agent = cluster.agents[0]
        let now = try #require(index(try agent.client.request("GET", "/v1/metadata/k")))
        let started = ContinuousClock.now
        let (answer, at) = await waiting(agent, "/v1/metadata/k?index=\(now)&wait=2s").value
        #expect(answer?.status == 404, "nothing was written: the wait ends with the plain answer")
        #expect(answer.flatMap(index) == now)
        #expect(at - started >= .seconds(2), "answered before its wait ended")
    }

    @Test func aConnectionKeptAliveServesTheNextRequestAfterItsQueryIsAnswered() async throws {
        // A waiting query holds its connection without the HTTP handlers; they come back
        // with its answer, for the next request on the connection.
        let cluster = try await oneAgent()
        defer { cluster.stop() }
        let agent = cluster.agents[0]
        let now = try #require(index(try agent.client.request("GET", "/v1/metadata/k")))
        let connection = try #require(RawConnection(port: agent.httpPort))
        func request(_ target: String, method: String = "GET") -> [UInt8] {
            Array("\(method) \(target) HTTP/1.1\r\nHost: hearsay\r\n\r\n".utf8)
        }
        connection.send(request("/v1/metadata/k?index=\(now)&wait=300ms"))
        let first = connection.readUntilClosed(seconds: 2)
        let text = String(decoding: first.bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 404 Not Found\r\n"), "\(text)")
        #expect(text.contains("X-Hearsay-Index: \(now)\r\n") && text.contains("Connection: keep-alive\r\n"))
        #expect(!first.closed)
        connection.send(request("/healthz"))
        let second = connection.readUntilClosed(seconds: 2)
        #expect(String(decoding: second.bytes, as: UTF8.self).hasPrefix("HTTP/1.1 200 OK\r\n"), "\(second)")
        #expect(!second.closed)
        // A HEAD query gets the head alone, and the connection goes on.
        connection.send(request("/v1/metadata/k?index=\(now)&wait=300ms", method: "HEAD"))
        let head = String(decoding: connection.readUntilClosed(seconds: 2).bytes, as: UTF8.self)
        #expect(head.hasPrefix("HTTP/1.1 404") && head.hasSuffix("\r\n\r\n"), "\(head)")
        connection.send(request("/healthz"))
        #expect(String(decoding: connection.readUntilClosed(seconds: 2).bytes, as: UTF8.self).contains("200 OK"))

        // A request pipelined behind a waiting query: the query is answered, and the
        // connection closed rather than the request served out of order or lost unsaid.
        let pipelined = try #require(RawConnection(port: agent.httpPort))
        pipelined.send(request("/v1/metadata/k?index=\(now)&wait=300ms") + request("/healthz"))
        let answered = pipelined.readUntilClosed(seconds: 3)
        let answeredText = String(decoding: answered.bytes, as: UTF8.self)
        #expect(answeredText.hasPrefix("HTTP/1.1 404") && answeredText.contains("Connection: close"), "\(answeredText)")
        #expect(answered.closed)
        #expect(agent.metric("hearsay_blocking_queries") == 0)
    }

    @Test func aShortWaitAskedAfterALongOneStillEndsOnTime() async throws {
        // One timer serves every waiting query: a shorter wait must bring it forward.
        let cluster = try await oneAgent()
        defer { cluster.stop() }
        let agent = cluster.agents[0]
        let now = try #require(index(try agent.client.request("GET", "/v1/metadata/k")))
        let long = waiting(agent, "/v1/metadata/k?index=\(now)&wait=10m", timeout: .seconds(30))
        #expect(await eventually { agent.metric("hearsay_blocking_queries") == 1 })
        let started = ContinuousClock.now
        let (answer, at) = await waiting(agent, "/v1/metadata/k?index=\(now)&wait=1s").value
        #expect(answer?.status == 404)
        #expect(at - started < .seconds(20), "the short wait ended with the long one's timer")
        #expect(agent.metric("hearsay_blocking_queries") == 1, "the long one still waits")
        long.cancel()
    }

    @Test func badParametersAreClientErrors() async throws {
        let cluster = try await oneAgent()
        defer { cluster.stop() }
        let agent = cluster.agents[0]
        for query in ["index=abc", "index=-1", "index=1&wait=forever", "index=1&wait=11m", "wait=5s"] {
            let response = try agent.client.request("GET", "/v1/metadata/k?\(query)")
            #expect(response.status == 400, "\(query): \(response.status) \(response.text)")
        }
    }

    @Test func aClientThatGoesAwayLeavesNothingWaiting() async throws {
        let cluster = try await oneAgent()
        defer { cluster.stop() }
        let agent = cluster.agents[0]
        let now = try #require(index(try agent.client.request("GET", "/v1/metadata/k")))
        // The client goes away once the query is seen waiting, not after a fixed time: a
        // loaded machine may take seconds to deliver the request.
        var gone = RawConnection(port: agent.httpPort)
        #expect(gone?.send(Array("GET /v1/metadata/k?index=\(now)&wait=5m HTTP/1.1\r\nHost: h\r\n\r\n".utf8)) == true)
        #expect(await eventually { agent.metric("hearsay_blocking_queries") == 1 }, "the query is not counted")
        gone = nil
        #expect(await eventually { agent.metric("hearsay_blocking_queries") == 0 }, "a closed connection still waits")
        var impatient = agent.client
        for _ in 0..<5 {
            impatient.timeout = .seconds(1)
            // Each gives up after a second, long before the wait ends.
            _ = try? impatient.request("GET", "/v1/metadata/k?index=\(now)&wait=5m")
        }
        let held = await eventually(timeout: .seconds(5)) { agent.metric("hearsay_blocking_queries") == 0 }
        #expect(held, "queries still held: \(agent.metric("hearsay_blocking_queries"))")
        // Still running: a query dropped without an answer would have stopped a debug build.
        #expect((try? agent.client.request("GET", "/healthz"))?.status == 200, "\(cluster.logs)")
    }
    @Test func aWaitingMemberListQueryAnswersWhenAMemberFails() async throws {
        let cluster = AgentCluster(size: 3)
        defer { cluster.stop() }
        try cluster.start()
        let (a, b, c) = (cluster.agents[0], cluster.agents[1], cluster.agents[2])
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) }, "\(cluster.logs)")
        let membersIndex = { try #require(index(try a.client.request("GET", "/v1/members")), "no X-Hearsay-Index") }
        let seen = try membersIndex()

        var asked = ContinuousClock.now
        var query = waiting(a, "/v1/members?index=\(seen)&wait=2m")
        #expect(await eventually(timeout: .seconds(60)) { waitingQueries(a) == 1 }, "the query did not wait")
        // A write changes the store, not the member list: the query still waits, unless
        // the list itself changed meanwhile (a loaded machine can make a probe late).
        #expect(try b.put("unrelated", .string("x")).status == 200)
        #expect(await eventually { a.entry("unrelated") != nil })
        if try membersIndex() == seen {
            #expect(waitingQueries(a) == 1, "a metadata change answered a member-list query")
        }

        c.signal(SIGKILL)
        // Each answer comes at a change of the list, long before its wait ends; the
        // queries that follow with the index they got see the failure.
        var last = seen
        var shown: String?
        for _ in 0..<10 {
            let (answer, answeredAt) = await query.value
            let response = try #require(answer)
            #expect(response.status == 200, "\(response.text)")
            let after = try #require(index(response))
            #expect(after > last, "answered without a change")
            #expect(answeredAt - asked < .seconds(60), "answered at the wait's end, not at a change")
            guard case .object(let root)? = response.json, case .array(let members)? = root["members"] else {
                Issue.record("not a member list: \(response.text)")
                return
            }
            shown =
                members.lazy.compactMap { member -> String? in
                    guard case .object(let fields) = member, fields["name"] == .string(c.name),
                        case .string(let state)? = fields["state"]
                    else { return nil }
                    return state
                }.first
            if shown != "alive" { break }
            last = after
            asked = ContinuousClock.now
            query = waiting(a, "/v1/members?index=\(after)&wait=2m")
        }
        #expect(shown != nil && shown != "alive", "the answers never showed the killed member's failure")

        // Ahead of the node's index (as after its restart): at once, with the lower index.
        let now = try membersIndex()
        let ahead = try a.client.request("GET", "/v1/members?index=\(now + 1_000_000)&wait=20s")
        #expect(ahead.status == 200)
        #expect(index(ahead).map { $0 < now + 1_000_000 } == true)
    }
}
