import Foundation
import HearsayCore
import HearsayNode
import Testing

/// Real `hearsay agent` processes on loopback: membership, replication, conflicts,
/// crash and restart, graceful leave, a foreign key, and bad API input.
@Suite(.serialized) struct ClusterTests {
    init() {
        precondition(FileManager.default.isExecutableFile(atPath: HearsayBinary.path), "build hearsay first")
    }

    @Test func fiveAgentsFormAClusterAndEveryWriteReachesEveryNode() async throws {
        let cluster = AgentCluster(size: 5)
        defer { cluster.stop() }
        try cluster.start()
        let formed = await eventually { cluster.allSee(cluster.everyoneAlive()) }
        #expect(formed, "\(cluster.logs)")
        let write = try cluster.agents[2].put("services/web", .object(["replicas": .number(3)]))
        #expect(write.status == 200)
        let everywhere = await eventually {
            cluster.agents.allSatisfy { $0.values("services/web") == [.object(["replicas": .number(3)])] }
        }
        #expect(everywhere)
        // Every node counts the write as remote, except its origin.
        #expect(cluster.agents[0].metric("hearsay_metadata_updates_total{origin=\"remote\"}") >= 1)
    }

    @Test(.enabled(if: Firewall.available, "needs root and iptables to partition loopback ports"))
    func concurrentWritesOnTwoNodesEndAsAVisibleConflictEverywhere() async throws {
        let cluster = AgentCluster(size: 3)
        defer { cluster.stop() }
        try cluster.start()
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) })
        let (a, b) = (cluster.agents[0], cluster.agents[1])
        // Neither A nor B can hear anyone while both write the same address.
        let heal = Firewall.blockInbound(ports: [a.gossipPort, b.gossipPort])
        defer { heal() }
        let first = try a.put("config/limit", .number(10))
        let second = try b.put("config/limit", .number(20))
        try await Task.sleep(for: .milliseconds(500))
        heal()
        #expect(first.status == 200 && second.status == 200)
        let conflicted = await eventually {
            cluster.agents.allSatisfy { agent in
                guard case .object(let entry)? = agent.entry("config/limit") else { return false }
                return entry["conflicted"] == .bool(true)
                    && Set(agent.values("config/limit")) == [.number(10), .number(20)]
            }
        }
        #expect(conflicted, "\(cluster.logs)")
        #expect(cluster.agents[2].metric("hearsay_metadata_conflicts_total") >= 1)
        // A later write that has seen both versions resolves the conflict everywhere.
        #expect(try cluster.agents[2].put("config/limit", .number(30)).status == 200)
        #expect(await eventually { cluster.agents.allSatisfy { $0.values("config/limit") == [.number(30)] } })
    }

    @Test func aKilledAgentIsFailedEverywhereThenComesBackWithItsData() async throws {
        let cluster = AgentCluster(size: 4)
        defer { cluster.stop() }
        try cluster.start()
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) })
        let victim = cluster.agents[3]
        let others = Array(cluster.agents.prefix(3))
        #expect(try victim.put("owned/by-victim", .string("before the crash")).status == 200)
        victim.signal(SIGKILL)
        var failed = cluster.everyoneAlive()
        failed[victim.name] = "failed"
        #expect(await eventually { cluster.allSee(failed, observers: others) }, "\(cluster.logs)")
        // Every round (1 s here) tries to reconnect to the failed member; that is expected
        // and not a network error.
        let errorsBefore = others[0].metric("hearsay_network_errors_total")
        let roundsBefore = others[0].metric("hearsay_gossip_rounds_total")
        #expect(await eventually { others[0].metric("hearsay_gossip_rounds_total") >= roundsBefore + 4 })
        #expect(others[0].metric("hearsay_network_errors_total") - errorsBefore < 2)
        // Written while the victim is down: it catches up by anti-entropy.
        #expect(try others[0].put("written/while-down", .bool(true)).status == 200)
        try victim.start(key: cluster.key, join: [others[0].gossipPort])
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) }, "\(cluster.logs)")
        #expect(victim.values("owned/by-victim") == [.string("before the crash")])
        #expect(await eventually { victim.values("written/while-down") == [.bool(true)] })
        #expect(others.allSatisfy { $0.values("owned/by-victim") == [.string("before the crash")] })
        #expect(victim.logText.contains("\"event\":\"store_loaded\""))
    }

    @Test func anAgentRestartedUnderItsNameAtANewAddressTakesItOverAtOnce() async throws {
        let cluster = AgentCluster(size: 3)
        defer { cluster.stop() }
        try cluster.start()
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) })
        let old = cluster.agents[2]
        old.signal(SIGKILL)
        // A rescheduled pod: same name, new address, empty disk, joining through a host name.
        let ports = FreePorts.take(2)
        let moved = AgentProcess(
            name: old.name, gossipPort: ports[0], httpPort: ports[1], directory: cluster.directory.path,
            dataDir: cluster.directory.path + "/moved")
        defer { moved.signal(SIGKILL) }
        try moved.start(key: cluster.key, joinAddresses: ["localhost:\(cluster.agents[0].gossipPort)"])
        let observers = [cluster.agents[0], cluster.agents[1]]
        let takenOver = await eventually(timeout: .seconds(20)) {
            observers.allSatisfy { $0.addresses()[old.name] == "127.0.0.1:\(ports[0])" }
                && cluster.allSee(cluster.everyoneAlive(), observers: observers + [moved])
        }
        #expect(takenOver, "\(cluster.logs)")
        // No refutation was needed: the new life outranked the old one from its first word.
        #expect(moved.metric("hearsay_refutations_total") == 0)
    }

    @Test func anAgentRefusesToStartOnACorruptDataDirectory() async throws {
        let cluster = AgentCluster(size: 1)
        defer { cluster.stop() }
        let agent = cluster.agents[0]
        try FileManager.default.createDirectory(atPath: agent.dataDir, withIntermediateDirectories: true)
        try Data("not a log".utf8).write(to: URL(fileURLWithPath: agent.dataDir + "/metadata.log"))
        try agent.start(key: cluster.key)
        #expect(await agent.waitForExit(timeout: .seconds(20)) == 1)
        #expect(agent.logText.contains("not a Hearsay metadata log"))
        #expect((try? agent.client.request("GET", "/healthz")) == nil)
    }

    @Test func aMisspeltSettingVariableIsNamedInAWarning() async throws {
        let cluster = AgentCluster(size: 1)
        defer { cluster.stop() }
        let agent = cluster.agents[0]
        try agent.start(key: cluster.key, environment: ["HEARSAY_GOSSIP_INTERVALL": "10s"])
        #expect(await eventually { agent.logText.contains("\"event\":\"agent_started\"") })
        #expect(agent.logText.contains("\"variable\":\"HEARSAY_GOSSIP_INTERVALL\""), "\(agent.logText)")
        #expect(!agent.logText.contains("\"variable\":\"HEARSAY_GOSSIP_INTERVAL\""))
    }

    @Test func aBadSettingStopsTheAgentWithExitCodeTwoAndNamesIt() async throws {
        let cluster = AgentCluster(size: 1)
        defer { cluster.stop() }
        let agent = cluster.agents[0]
        try agent.start(key: cluster.key, extra: ["--gossip-interval", "2h"])
        #expect(await agent.waitForExit(timeout: .seconds(20)) == 2)
        #expect(agent.logText.contains("invalid --gossip-interval '2h': allowed 1s to 1h"))
        // A keyring that cannot be used is a bad setting too.
        let keyring = cluster.directory.path + "/keyring.json"
        try "[\"\(cluster.key)\", \"\(cluster.key)\"]".write(toFile: keyring, atomically: true, encoding: .utf8)
        chmod(keyring, 0o644)
        chmod(cluster.directory.path, 0o755)
        try agent.start(key: cluster.key, extra: ["--keyring", keyring])
        #expect(await agent.waitForExit(timeout: .seconds(20)) == 2, "\(agent.logText.suffix(500))")
        #expect(agent.logText.contains("key 1 is the same as key 0"))
    }

    @Test func theDemoStartsThreeNodesWritesAndLeavesCleanly() async throws {
        // The demo gossips on base, base+10 and base+20, each with HTTP one port above.
        let base = FreePorts.block(22).lowerBound
        let command = Unprivileged.command(
            Unprivileged.hearsayBinary, ["demo", "--base-port", "\(base)", "--seconds", "2"])
        let run = try ProgramRun(command.executable, command.arguments)
        let text = run.output
        #expect(run.status == 0, "\(text)")
        #expect(text.contains("three entries written on demo-1"))
        #expect(text.contains("curl -s http://127.0.0.1:\(base + 11)/v1/members"))
        // Each node left gracefully on the way out.
        #expect(text.components(separatedBy: "left the cluster").count - 1 == 3, "\(text)")
    }

    @Test func theDemoPrintsWhereToLookWhileItRunsWithOutputToAFile() async throws {
        // `make run | tee demo.log`: standard output is not a terminal, and the demo idles
        // until Ctrl-C, so its text must be flushed rather than left in the buffer.
        let base = FreePorts.block(22).lowerBound
        let directory = TemporaryDirectory("hearsay-demo")
        defer { directory.remove() }
        let outputPath = directory.file("demo.log")
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        let command = Unprivileged.command(Unprivileged.hearsayBinary, ["demo", "--base-port", "\(base)"])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command.executable)
        process.arguments = command.arguments
        process.standardOutput = output
        process.standardError = output
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let text = { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
        #expect(await eventually(timeout: .seconds(60)) { text().contains("Look at it:") }, "\(text())")
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text())")
    }

    @Test func readinessWaitsForTheSeedsAndALoneFirstMemberIsReady() async throws {
        let cluster = AgentCluster(size: 2)
        defer { cluster.stop() }
        let (unresolved, first) = (cluster.agents[0], cluster.agents[1])
        // A seed name that does not resolve (a headless Service before its first pod has
        // an address): alive, but not ready, since it cannot know whether it is first.
        try unresolved.start(key: cluster.key, joinAddresses: ["hearsay-seed.invalid", "hearsay-other.invalid"])
        #expect(await eventually { unresolved.isHealthy })
        // Not ready once it has tried the names and failed.
        #expect(await eventually { unresolved.logText.contains("\"event\":\"join_resolve_failed\"") })
        #expect((try? unresolved.client.request("GET", "/readyz"))?.status == 503, "\(unresolved.logText)")
        // Seeds that resolve to this node alone: it is the first member, and ready.
        try first.start(key: cluster.key, joinAddresses: ["localhost:\(first.gossipPort)"])
        #expect(
            await eventually { (try? first.client.request("GET", "/readyz"))?.status == 200 }, "\(first.logText)")
        #expect(first.logText.contains("\"event\":\"first_member\""))
        // A join to an address that never answers does not take a working member out of
        // service (a retry that finds a starting peer, an operator's typo).
        let dead = FreePorts.take(1)[0]
        let join = try first.client.request(
            "POST", "/v1/join", body: Array(#"{"addresses": ["127.0.0.1:\#(dead)"]}"#.utf8))
        #expect(join.status == 504, "\(join.text)")
        #expect((try? first.client.request("GET", "/readyz"))?.status == 200)
    }

    @Test func aTerminatedAgentLeavesGracefullyAndExitsZero() async throws {
        let cluster = AgentCluster(size: 3)
        defer { cluster.stop() }
        // Probes as patient as the defaults': the test asserts that nobody was declared
        // failed, which 150 ms probe timeouts on a loaded machine could make happen.
        try cluster.start(extra: ["--probe-interval", "1s", "--probe-timeout", "500ms"])
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) })
        let leaver = cluster.agents[1]
        leaver.signal(SIGTERM)
        #expect(await leaver.waitForExit(timeout: .seconds(20)) == 0)
        var left = cluster.everyoneAlive()
        left[leaver.name] = "left"
        let observers = [cluster.agents[0], cluster.agents[2]]
        #expect(await eventually { cluster.allSee(left, observers: observers) }, "\(cluster.logs)")
        // Never failed on the way.
        #expect(observers.allSatisfy { $0.metric("hearsay_failure_detections_total") == 0 })
    }

    @Test func anAgentWithAnotherKeyCannotJoinAndItsFramesAreCountedAsDrops() async throws {
        let cluster = AgentCluster(size: 2)
        defer { cluster.stop() }
        try cluster.start()
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) })
        let outsider = AgentProcess(
            name: "outsider", gossipPort: FreePorts.take(1)[0], httpPort: FreePorts.take(1)[0],
            directory: cluster.directory.path)
        defer { outsider.signal(SIGKILL) }
        try outsider.start(key: Base64Key.make(), join: [cluster.agents[0].gossipPort])
        let dropped = await eventually {
            cluster.agents[0].metric("hearsay_messages_dropped_total{type=\"unknown\",reason=\"unknown_key\"}") > 0
        }
        #expect(dropped)
        // The outsider keeps trying, and keeps being refused: three frames more.
        let refused = "hearsay_messages_dropped_total{type=\"unknown\",reason=\"unknown_key\"}"
        let firstRefusals = cluster.agents[0].metric(refused)
        #expect(await eventually { cluster.agents[0].metric(refused) >= firstRefusals + 3 })
        #expect(cluster.allSee(cluster.everyoneAlive()))
        #expect(outsider.members() == ["outsider": "alive"])
        #expect(cluster.agents[0].logText.contains("\"reason\":\"unknown_key\""))
    }

    @Test func badAPIInputGetsAClearClientErrorAndChangesNothing() async throws {
        let cluster = AgentCluster(size: 1)
        defer { cluster.stop() }
        try cluster.start(extra: ["--api-token", "s3cret", "--max-body-bytes", "1024"])
        let agent = cluster.agents[0]
        #expect(await eventually { agent.isHealthy })
        var authorized = agent.client
        authorized.token = "s3cret"
        func check(_ method: String, _ path: String, _ body: String?, token: Bool = true, expect status: Int) throws {
            let client = token ? authorized : agent.client
            let response = try client.request(method, path, body: body.map { Array($0.utf8) })
            #expect(response.status == status, "\(method) \(path): \(response.text)")
            if status >= 400 {
                guard case .object(let fields)? = response.json, case .string(let message)? = fields["error"] else {
                    Issue.record("no JSON error for \(method) \(path): \(response.text)")
                    return
                }
                #expect(!message.isEmpty)
            }
        }
        try check("PUT", "/v1/metadata/a", #"{"value": 1"#, expect: 400)  // malformed JSON
        try check("PUT", "/v1/metadata/a", #"{"value": 1, "extra": 2}"#, expect: 400)  // unknown field
        try check("PUT", "/v1/metadata/a", #"{"value": "\#(String(repeating: "x", count: 2000))"}"#, expect: 413)
        try check("PUT", "/v1/metadata/has%20space", #"{"value": 1}"#, expect: 400)  // invalid address
        try check("PUT", "/v1/metadata/a", #"{"value": 1}"#, token: false, expect: 401)  // missing token
        try check("DELETE", "/v1/metadata/a", nil, token: false, expect: 401)
        try check("POST", "/v1/join", #"{"addresses": ["nohost:99999"]}"#, expect: 400)
        try check("POST", "/v1/keys/install", #"{"key": "short"}"#, expect: 400)
        try check("GET", "/v1/nothing", nil, expect: 404)
        try check("DELETE", "/v1/state", nil, expect: 405)
        try check("GET", "/v1/metadata/never-written", nil, expect: 404)
        // Nothing above changed the store or the keyring.
        let list = try agent.client.request("GET", "/v1/metadata")
        #expect(list.json == .object(["entries": .array([])]))
        #expect(agent.metric("hearsay_metadata_updates_total") == 0)
        // The same write, well formed and authorized, is accepted.
        try check("PUT", "/v1/metadata/a", #"{"value": 1}"#, expect: 200)
        #expect(agent.values("a") == [.number(1)])
    }

    @Test func keysRotateAgentByAgentThroughTheAPIWithoutLosingTheCluster() async throws {
        let cluster = AgentCluster(size: 2)
        defer { cluster.stop() }
        try cluster.start()
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) })
        let newKey = Base64Key.make()
        let body = Array(JSONValue.object(["key": .string(newKey)]).canonicalText.utf8)
        for step in ["install", "use"] {
            for agent in cluster.agents {
                #expect(try agent.client.request("POST", "/v1/keys/\(step)?scope=local", body: body).status == 200)
            }
        }
        let oldKey = Array(JSONValue.object(["key": .string(cluster.key)]).canonicalText.utf8)
        for agent in cluster.agents {
            #expect(try agent.client.request("POST", "/v1/keys/remove?scope=local", body: oldKey).status == 200)
        }
        // Still one cluster, gossiping under the new key only.
        #expect(try cluster.agents[0].put("after/rotation", .bool(true)).status == 200)
        #expect(await eventually { cluster.agents[1].values("after/rotation") == [.bool(true)] })
        guard case .object(let keys)? = try cluster.agents[1].client.request("GET", "/v1/keys").json,
            case .array(let ids)? = keys["keys"]
        else {
            Issue.record("no key list")
            return
        }
        #expect(ids.count == 1)
    }

    @Test func aKeySeedsTheKeyringFileWhichKeepsRotatedKeysAcrossRestarts() async throws {
        // A container's environment names the first key for ever; the keyring file in its
        // data volume is what it must use once keys have been rotated.
        let cluster = AgentCluster(size: 1)
        defer { cluster.stop() }
        let agent = cluster.agents[0]
        let keyring = agent.dataDir + "/keyring.json"
        let options = ["--keyring", keyring]
        func primary() -> JSONValue? {
            guard case .object(let keys)? = try? agent.client.request("GET", "/v1/keys").json else { return nil }
            return keys["primary"]
        }
        func keyCount() -> Int {
            guard case .object(let keys)? = try? agent.client.request("GET", "/v1/keys").json,
                case .array(let ids)? = keys["keys"]
            else { return 0 }
            return ids.count
        }
        func restart() async throws {
            agent.signal(SIGTERM)
            #expect(await agent.waitForExit(timeout: .seconds(20)) == 0)
            try agent.start(key: cluster.key, extra: options)
            #expect(await eventually { keyCount() > 0 }, "\(agent.logText)")
        }
        try agent.start(key: cluster.key, extra: options)
        #expect(await eventually { keyCount() == 1 }, "\(agent.logText)")
        #expect(agent.logText.contains("\"event\":\"keyring_seeded\""))
        let first = primary()
        let newKey = Array(JSONValue.object(["key": .string(Base64Key.make())]).canonicalText.utf8)
        for step in ["install", "use"] {
            #expect(try agent.client.request("POST", "/v1/keys/\(step)", body: newKey).status == 200)
        }
        let rotated = primary()
        #expect(rotated != first)
        // Restarted with the same first key, it keeps the rotated keyring.
        try await restart()
        #expect(primary() == rotated && keyCount() == 2)
        let oldKey = Array(JSONValue.object(["key": .string(cluster.key)]).canonicalText.utf8)
        #expect(try agent.client.request("POST", "/v1/keys/remove", body: oldKey).status == 200)
        // Now the file no longer holds the key it was given: the file wins, and says so.
        try await restart()
        #expect(primary() == rotated && keyCount() == 1)
        #expect(agent.logText.contains("\"event\":\"keyring_key_ignored\""))
    }
}
