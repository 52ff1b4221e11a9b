import Foundation
import HearsayCore
import HearsayWire
import Testing

@testable import HearsayNode

/// `hearsay keys` on the whole cluster, on real agents with keyring files: one call
/// reaches every member through the gossip port, and a member that was down during a
/// rotation rejoins (serf#579).
struct ClusterKeysTests {
    private func keys(_ agent: AgentProcess) -> (primary: String, keys: [String])? {
        guard case .object(let fields)? = try? agent.client.request("GET", "/v1/keys").json,
            case .string(let primary)? = fields["primary"], case .array(let list)? = fields["keys"]
        else { return nil }
        return (primary, list.compactMap { if case .string(let id) = $0 { id } else { nil } })
    }

    private func call(_ agent: AgentProcess, _ operation: String, _ key: String) throws -> APIClient.Response {
        try agent.client.request(
            "POST", "/v1/keys/\(operation)", body: Array(JSONValue.object(["key": .string(key)]).canonicalText.utf8))
    }

    private func report(_ response: APIClient.Response) -> [String: JSONValue] {
        if case .object(let fields)? = response.json { return fields }
        return [:]
    }

    private func start(_ cluster: AgentCluster, _ agent: AgentProcess, join: [Int]) throws {
        try agent.start(key: cluster.key, join: join, extra: ["--keyring", agent.dataDir + "/keyring.json"])
    }

    private func id(_ key: String) throws -> String { KeyID(of: try Base64.decode(key)).description }

    @Test func oneCallInstallsUsesAndRemovesAKeyOnEveryMember() async throws {
        let cluster = AgentCluster(size: 3)
        defer { cluster.stop() }
        for (index, agent) in cluster.agents.enumerated() {
            try start(cluster, agent, join: index == 0 ? [] : [cluster.agents[0].gossipPort])
        }
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) }, "\(cluster.logs)")
        let newKey = Base64Key.make()
        let http = ["--http-addr", "127.0.0.1:\(cluster.agents[1].httpPort)"]
        let installed = try ProgramRun(Unprivileged.hearsayBinary, ["keys", "install", newKey] + http)
        #expect(installed.status == 0, "\(installed.output)")
        #expect(installed.output.contains("3 of 3 members answered"), "\(installed.output)")
        #expect(cluster.agents.allSatisfy { keys($0)?.keys.count == 2 })
        // Asked only under keys they hold: no frame was dropped as signed with an unknown one.
        for agent in cluster.agents {
            #expect(agent.metric("hearsay_messages_dropped_total{type=\"unknown\",reason=\"unknown_key\"}") == 0)
        }
        let used = try ProgramRun(Unprivileged.hearsayBinary, ["keys", "use", newKey] + http)
        #expect(used.status == 0, "\(used.output)")
        #expect(try cluster.agents.allSatisfy { keys($0)?.primary == (try id(newKey)) })
        let removed = try ProgramRun(Unprivileged.hearsayBinary, ["keys", "remove", cluster.key] + http)
        #expect(removed.status == 0, "\(removed.output)")
        #expect(try cluster.agents.allSatisfy { keys($0)?.keys == [try id(newKey)] })
        // Written back to each agent's keyring file, and still one cluster.
        for agent in cluster.agents {
            let file = try String(contentsOfFile: agent.dataDir + "/keyring.json", encoding: .utf8)
            #expect(file.contains(newKey) && !file.contains(cluster.key), "\(agent.name): \(file)")
        }
        #expect(try cluster.agents[2].put("after/rotation", .bool(true)).status == 200)
        #expect(await eventually { cluster.agents[0].values("after/rotation") == [.bool(true)] })
        let listed = try ProgramRun(Unprivileged.hearsayBinary, ["keys", "list"] + http)
        let newID = try id(newKey)
        #expect(
            listed.status == 0 && listed.output.contains("key \(newID): held by 3, primary on 3"), "\(listed.output)")
        // A bad request is refused before anyone is asked.
        #expect(try call(cluster.agents[0], "use", Base64Key.make()).status == 409)
    }

    @Test func aMemberDownDuringARotationRejoinsAndTheOldKeyGoesOnlyThen() async throws {
        let cluster = AgentCluster(size: 3)
        defer { cluster.stop() }
        let (one, two, three) = (cluster.agents[0], cluster.agents[1], cluster.agents[2])
        for (index, agent) in cluster.agents.enumerated() {
            try start(cluster, agent, join: index == 0 ? [] : [one.gossipPort])
        }
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) }, "\(cluster.logs)")
        three.signal(SIGKILL)
        _ = await three.waitForExit(timeout: .seconds(10))
        #expect(await eventually { one.members()[three.name] == "failed" }, "\(one.logText.suffix(3_000))")

        let newKey = Base64Key.make()
        let installed = report(try call(one, "install", newKey))
        #expect(installed["complete"] == .bool(false))
        #expect(installed["answered"] == .number(2) && installed["members"] == .number(3), "\(installed)")
        guard case .object(let missing)? = installed["not_answered"] else {
            Issue.record("no not_answered: \(installed)")
            return
        }
        #expect(missing.keys.sorted() == [three.name])
        #expect(report(try call(two, "use", newKey))["answered"] == .number(2))
        // Removing the old key now would lock the member that is down out for good.
        let refused = try call(one, "remove", cluster.key)
        #expect(refused.status == 409, "\(refused.text)")
        #expect(refused.text.contains(three.name))
        #expect(keys(one)?.keys.count == 2, "nothing removed anywhere")

        // Back with its old keyring: the others still accept the old key, and a repeated
        // install and use reach it under that key.
        try start(cluster, three, join: [one.gossipPort])
        #expect(await eventually { three.isHealthy }, "\(three.logText)")
        let reinstalled = report(try call(one, "install", newKey))
        #expect(reinstalled["complete"] == .bool(true), "\(reinstalled)\n\(three.logText.suffix(3_000))")
        #expect(report(try call(one, "use", newKey))["complete"] == .bool(true))
        #expect(try keys(three)?.primary == (try id(newKey)))
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) }, "\(cluster.logs)")
        let removed = try call(one, "remove", cluster.key)
        #expect(removed.status == 200 && report(removed)["complete"] == .bool(true), "\(removed.text)")
        #expect(try cluster.agents.allSatisfy { keys($0)?.keys == [try id(newKey)] })
        #expect(try three.put("rejoined", .bool(true)).status == 200)
        #expect(await eventually { one.values("rejoined") == [.bool(true)] }, "\(cluster.logs)")
    }
}
