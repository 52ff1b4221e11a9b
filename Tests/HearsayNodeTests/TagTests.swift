import Foundation
import HearsayCore
import Testing

@testable import HearsayNode

/// Member tags on real agents: `--tag`, `/v1/tags`, the `tag` filter of `/v1/members`,
/// `member_updated` events, and `tags.json` across a restart.
struct TagTests {
    @Test func tagFlagsSplitAtTheFirstEqualsSignAndBadOnesAreNamed() throws {
        var sources = SettingSources(flags: ["key": [Base64Key.make()], "tag": ["role=web", "ports=80,443", "q=a=b"]])
        let settings = try NodeSettings.resolve(sources)
        #expect(settings.tags.pairs == ["role": "web", "ports": "80,443", "q": "a=b"])
        sources.flags["tag"] = nil
        sources.environment["HEARSAY_TAG"] = "role=web\nports=80,443\n"
        #expect(try NodeSettings.resolve(sources).tags.pairs == ["role": "web", "ports": "80,443"])
        for bad in [["role"], ["role=a", "role=b"], ["ro le=x"], ["k=" + String(repeating: "v", count: 200)]] {
            sources.flags["tag"] = bad
            #expect(throws: ValidationError.self, "\(bad)") { try NodeSettings.resolve(sources) }
        }
    }

    @Test func aFilterAsksForEveryTagAndAKeyAloneAsksForTheKey() throws {
        let tags = try MemberTags(["role": "web", "zone": "a"])
        #expect(try MemberFilter(tags: ["role:web"]).matches(tags))
        #expect(try MemberFilter(tags: ["role"]).matches(tags))
        #expect(try MemberFilter(tags: ["role:web", "zone:a"]).matches(tags))
        #expect(try !MemberFilter(tags: ["role:web", "zone:b"]).matches(tags))
        #expect(try !MemberFilter(tags: ["role:"]).matches(tags))
        #expect(try MemberFilter(tags: ["url:http://x"]).matches(try MemberTags(["url": "http://x"])))
        #expect(throws: ValidationError.self) { try MemberFilter(tags: ["bad key:x"]) }
    }

    private func tags(_ agent: AgentProcess, of member: String) -> [String: JSONValue]? {
        guard let response = try? agent.client.request("GET", "/v1/members"), case .object(let root)? = response.json,
            case .array(let list)? = root["members"]
        else { return nil }
        for case .object(let fields) in list where fields["name"] == .string(member) {
            if case .object(let tags)? = fields["tags"] { return tags }
        }
        return nil
    }

    private func names(_ agent: AgentProcess, _ query: String) throws -> (Int, [String]) {
        let response = try agent.client.request("GET", "/v1/members?" + query)
        guard case .object(let root)? = response.json, case .array(let list)? = root["members"] else {
            return (response.status, [])
        }
        return (
            response.status,
            list.compactMap { member in
                guard case .object(let fields) = member, case .string(let name)? = fields["name"] else { return nil }
                return name
            }.sorted()
        )
    }

    private func send(_ agent: AgentProcess, _ method: String, _ body: String) throws -> APIClient.Response {
        try agent.client.request(method, "/v1/tags", body: Array(body.utf8))
    }

    @Test func tagsSetOnOneNodeAreSeenAndFilteredOnAnotherAndChangesRaiseAnEvent() async throws {
        let cluster = AgentCluster(size: 3)
        defer { cluster.stop() }
        let out = cluster.directory.path + "/handler-output"
        try Unprivileged.handOver(out)
        let (one, two, three) = (cluster.agents[0], cluster.agents[1], cluster.agents[2])
        try one.start(key: cluster.key, extra: ["--tag", "role=web", "--tag", "zone=a"])
        try two.start(key: cluster.key, join: [one.gossipPort], extra: ["--tag", "role=db"])
        try three.start(
            key: cluster.key, join: [one.gossipPort],
            extra: ["--event-handler", "member_updated=cat >> \(out)/updated.ndjson"])
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) }, "\(cluster.logs)")
        #expect(await eventually { tags(three, of: one.name) == ["role": "web", "zone": "a"] }, "\(cluster.logs)")
        #expect(tags(three, of: three.name) == [:])

        #expect(try names(three, "tag=role:web") == (200, [one.name]))
        #expect(try names(three, "tag=role") == (200, [one.name, two.name].sorted()))
        #expect(try names(three, "tag=role:web&tag=zone:b") == (200, []))
        #expect(try names(three, "tag=bad%20key").0 == 400)

        // A merge patch: one key set, one removed.
        let patched = try send(two, "PATCH", #"{"zone": "b", "role": null}"#)
        #expect(patched.status == 200)
        #expect(patched.json == .object(["zone": .string("b")]))
        #expect(await eventually { tags(three, of: two.name) == ["zone": "b"] }, "\(cluster.logs)")
        #expect(await eventually { tags(one, of: two.name) == ["zone": "b"] }, "\(cluster.logs)")
        let updated = "\(out)/updated.ndjson"
        #expect(
            await eventually {
                ((try? String(contentsOfFile: updated, encoding: .utf8)) ?? "").contains(#""zone":"b""#)
            }, "\(three.logText.suffix(3_000))")
        let event = try JSONValue.parse(
            String(String(contentsOfFile: updated, encoding: .utf8).split(separator: "\n")[0]))
        guard case .object(let fields) = event else {
            Issue.record("not an object: \(event)")
            return
        }
        #expect(fields["type"] == .string("member_updated"))
        #expect(fields["member"] == .string(two.name))
        #expect(fields["tags"] == .object(["zone": .string("b")]))

        // Refused changes change nothing.
        #expect(try send(two, "PUT", #"{"role": 1}"#).status == 400)
        #expect(try send(two, "PUT", #"{"bad key": "x"}"#).status == 400)
        #expect(try send(two, "PATCH", "[1]").status == 400)
        #expect(try send(two, "PATCH", #"{"bad key": null}"#).status == 400)
        let big =
            "{" + (0..<5).map { #""k\#($0)": "\#(String(repeating: "v", count: 110))""# }.joined(separator: ",")
            + "}"
        #expect(try send(two, "PUT", big).status == 400)
        #expect(try two.client.request("GET", "/v1/tags").json == .object(["zone": .string("b")]))

        // The client: hearsay tags --set / --delete, hearsay members --tag.
        let http = ["--http-addr", "127.0.0.1:\(two.httpPort)"]
        let set = try ProgramRun(
            Unprivileged.hearsayBinary, ["tags", "--set", "role=cache", "--delete", "zone"] + http)
        #expect(set.status == 0 && set.output == "role=cache\n", "\(set.output)")
        #expect(await eventually { tags(three, of: two.name) == ["role": "cache"] }, "\(cluster.logs)")
        let listed = try ProgramRun(
            Unprivileged.hearsayBinary,
            ["members", "--tag", "role:cache", "--http-addr", "127.0.0.1:\(three.httpPort)"])
        #expect(listed.status == 0 && listed.output.contains(two.name) && !listed.output.contains(one.name))
        #expect(listed.output.contains("role=cache"), "\(listed.output)")
    }

    @Test func aBlockingQueryOnTheMembersWakesWhenAPeersTagsChange() async throws {
        let cluster = AgentCluster(size: 2)
        defer { cluster.stop() }
        try cluster.start()
        let (one, two) = (cluster.agents[0], cluster.agents[1])
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) }, "\(cluster.logs)")
        let first = try one.client.request("GET", "/v1/members?tag=role:web")
        let index = try #require(first.header("X-Hearsay-Index"))
        #expect(first.json == .object(["members": .array([])]))
        // Past the query's wait: an answer at its end, not woken, fails on the list below.
        let waiting = one.waiting("/v1/members?tag=role:web&wait=60s&index=\(index)", timeout: .seconds(90))
        try await Task.sleep(for: .milliseconds(300))
        #expect(try send(two, "PUT", #"{"role": "web"}"#).status == 200)
        let woken = try #require(await waiting.value.0)
        #expect(woken.status == 200)
        guard case .object(let root)? = woken.json, case .array(let list)? = root["members"] else {
            Issue.record("no member list: \(woken.text)")
            return
        }
        #expect(list.count == 1, "\(woken.text)")
    }

    @Test func tagsSetThroughTheAPIOutliveARestartAndTagFlagsWinOverThem() async throws {
        let cluster = AgentCluster(size: 1)
        defer { cluster.stop() }
        let one = cluster.agents[0]
        try one.start(key: cluster.key, extra: ["--tag", "role=web"])
        #expect(await eventually { one.isHealthy }, "\(one.logText)")
        #expect(try send(one, "PATCH", #"{"zone": "a", "role": "api"}"#).status == 200)
        one.signal(SIGKILL)
        _ = await one.waitForExit(timeout: .seconds(10))
        let file = try String(contentsOfFile: one.dataDir + "/tags.json", encoding: .utf8)
        #expect(file == #"{"role":"api","zone":"a"}"# + "\n")
        try one.start(key: cluster.key, extra: ["--tag", "role=web"])
        #expect(await eventually { one.isHealthy }, "\(one.logText)")
        #expect(
            try one.client.request("GET", "/v1/tags").json == .object(["role": .string("web"), "zone": .string("a")]))
        one.signal(SIGKILL)
        _ = await one.waitForExit(timeout: .seconds(10))
        try one.start(key: cluster.key)
        #expect(await eventually { one.isHealthy }, "\(one.logText)")
        #expect(
            try one.client.request("GET", "/v1/tags").json == .object(["role": .string("web"), "zone": .string("a")]))
    }

    @Test func anUnreadableTagsFileStopsTheAgentAndSaysWhere() async throws {
        let cluster = AgentCluster(size: 1)
        defer { cluster.stop() }
        let agent = cluster.agents[0]
        try FileManager.default.createDirectory(atPath: agent.dataDir, withIntermediateDirectories: true)
        for text in [#"{"role": 1}"#, "not json", #"{"bad key": "x"}"#] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: agent.dataDir + "/tags.json"))
            try agent.start(key: cluster.key)
            #expect(await agent.waitForExit(timeout: .seconds(20)) == 1, "\(text)")
            #expect(agent.logText.contains("unreadable tags"), "\(text): \(agent.logText.suffix(1_000))")
        }
    }
}
