import Foundation
import HearsayCore
import Testing

@testable import HearsayNode

/// `--event-handler`: commands the agent runs for events, on real agents (run as an
/// unprivileged user when the tests run as root) writing what they got to files.
struct EventHandlerTests {
    @Test func aFilterIsReadOnlyWhenItNamesEventsElseTheTextIsTheCommand() throws {
        let failures = try EventHandlerSpec(parsing: "member_failed,member_left=./page.sh --loud")
        #expect(failures.command == "./page.sh --loud")
        #expect(failures.filter.types == ["member_failed", "member_left"])
        let config = try EventHandlerSpec(parsing: "metadata,prefix:config/=./reload.sh a=b")
        #expect(config.command == "./reload.sh a=b")
        #expect(config.filter.prefix == "config/")
        #expect(config.filter.types?.contains("metadata_deleted") == true)
        let prefixOnly = try EventHandlerSpec(parsing: "prefix:app/=cat")
        #expect(prefixOnly.filter.types == nil && prefixOnly.filter.prefix == "app/")
        // Not a filter: the whole text is the command.
        for command in ["LEVEL=2 ./notify.sh", "./x.sh --mode=fast", "member_failed,nonsense=x", "=x"] {
            let spec = try EventHandlerSpec(parsing: command)
            #expect(spec.command == command && spec.filter == EventFilter(), "\(command)")
        }
        for bad in ["", "   ", "member_failed=", "metadata= \t"] {
            #expect(throws: ValidationError.self, "\(bad)") { try EventHandlerSpec(parsing: bad) }
        }
        // From the environment: one per line, since filters hold commas.
        var sources = SettingSources(environment: [
            "HEARSAY_EVENT_HANDLER": "member_failed,member_left=./a.sh\nmetadata=./b.sh",
            "HEARSAY_EVENT_HANDLER_TIMEOUT": "250ms",
        ])
        sources.flags["key"] = [Base64Key.make()]
        let settings = try NodeSettings.resolve(sources)
        #expect(settings.eventHandlers.map(\.command) == ["./a.sh", "./b.sh"])
        #expect(settings.eventHandlerTimeout == .milliseconds(250))
        sources.environment["HEARSAY_EVENT_HANDLER_TIMEOUT"] = "2h"
        #expect(throws: ValidationError.self) { try NodeSettings.resolve(sources) }
    }

    /// A directory the agents' user can write, inside the cluster's.
    private func outputDirectory(_ cluster: AgentCluster) throws -> String {
        let path = cluster.directory.path + "/handler-output"
        try Unprivileged.handOver(path)
        return path
    }

    private func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    @Test func aHandlerGetsEachEventItsFilterAdmitsOnStandardInputAndInVariables() async throws {
        let cluster = AgentCluster(size: 3)
        defer { cluster.stop() }
        let out = try outputDirectory(cluster)
        let (one, two, three) = (cluster.agents[0], cluster.agents[1], cluster.agents[2])
        try one.start(key: cluster.key)
        try two.start(
            key: cluster.key, join: [one.gossipPort],
            extra: [
                "--event-handler",
                "member_failed,metadata_written,prefix:app/="
                    + "cat >> \(out)/events.ndjson && env | grep ^HEARSAY_ | sort > \(out)/env-$HEARSAY_INDEX",
                "--event-handler", "metadata_written=exec grep -E '^Sig(Ign|Blk)' /proc/self/status > \(out)/signals",
                // A handler can call its agent with the hearsay client: HEARSAY_HTTP_ADDR.
                "--event-handler",
                "metadata_written,prefix:app/=\(Unprivileged.hearsayBinary) get app/config > \(out)/got",
            ],
            environment: ["HEARSAY_LOG_LEVEL": "info"])
        try three.start(key: cluster.key, join: [one.gossipPort])
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) }, "\(cluster.logs)")
        #expect(try one.put("other/x", .number(1)).status == 200)
        #expect(try one.put("app/config", .object(["replicas": .number(3)])).status == 200)
        let events = "\(out)/events.ndjson"
        #expect(await eventually { read(events).contains("app/config") }, "\(two.logText.suffix(3_000))")
        three.signal(SIGKILL)
        #expect(
            await eventually { read(events).contains("\"member_failed\"") },
            "\(read(events))\n\(two.logText.suffix(3_000))")
        let lines = read(events).split(separator: "\n").compactMap { line -> [String: JSONValue]? in
            guard case .object(let fields)? = try? JSONValue.parse(String(line)) else { return nil }
            return fields
        }
        let written = lines.first { $0["type"] == .string("metadata_written") }
        #expect(written?["address"] == .string("app/config"))
        #expect(written?["origin"] == .string("remote"))
        #expect(written?["value"] == .object(["replicas": .number(3)]))
        #expect(lines.first { $0["type"] == .string("member_failed") }?["member"] == .string(three.name))
        // Only what the filter admits: no write outside app/, no member_joined.
        #expect(
            lines.allSatisfy { $0["type"] == .string("metadata_written") || $0["type"] == .string("member_failed") })
        #expect(!read(events).contains("other/x"))
        // The variables: the event's fields, the node's name and API, none of the agent's settings.
        guard case .number(let index)? = written?["index"] else {
            Issue.record("no index in \(String(describing: written))")
            return
        }
        let environment = read("\(out)/env-\(Int(index))")
        for line in [
            "HEARSAY_EVENT=metadata_written", "HEARSAY_ADDRESS=app/config", "HEARSAY_ORIGIN=remote",
            "HEARSAY_NODE=\(two.name)", "HEARSAY_HTTP_ADDR=127.0.0.1:\(two.httpPort)", "HEARSAY_INDEX=\(Int(index))",
        ] {
            #expect(environment.split(separator: "\n").contains(Substring(line)), "\(line) not in\n\(environment)")
        }
        #expect(!environment.contains("HEARSAY_LOG_LEVEL"), "\(environment)")
        #expect(!environment.contains("HEARSAY_VALUE"), "\(environment)")
        // Signals as a shell started from a terminal has them: none blocked, and SIGPIPE
        // (which the agent ignores) not ignored.
        #expect(await eventually { read("\(out)/signals").contains("SigIgn") })
        let signals = read("\(out)/signals").split(separator: "\n").map { $0.split(separator: "\t").last ?? "" }
        #expect(signals.first == "0000000000000000", "\(signals)")
        #expect(
            signals.count == 2 && UInt64(signals[1], radix: 16).map { $0 & (1 << (13 - 1)) == 0 } == true, "\(signals)")
        #expect(await eventually { read("\(out)/got").contains("replicas") }, "\(read("\(out)/got"))")
        #expect(two.logText.contains("\"event\":\"event_handler_ran\""))
        #expect(await eventually { two.metric("hearsay_event_handler_runs_total{handler=\"1\"} ") >= 2 })
    }

    @Test func failingSlowAndDeafHandlersAreCountedLoggedAndNeverHoldTheAgentBack() async throws {
        let cluster = AgentCluster(size: 1)
        defer { cluster.stop() }
        let agent = cluster.agents[0]
        try agent.start(
            key: cluster.key,
            extra: [
                "--event-handler", "metadata=echo broken >&2; exit 3",
                "--event-handler", "metadata=sleep 10",
                // Reads nothing of its input: a write after it has gone raises SIGPIPE,
                // which must not end the agent.
                "--event-handler", "metadata=true",
                // Writes without end: killed at its timeout all the same.
                "--event-handler", "metadata_written,prefix:big/=yes",
                "--event-handler-timeout", "300ms",
            ], persistent: false)
        #expect(await eventually { agent.members()[agent.name] == "alive" })
        let big = JSONValue.string(String(repeating: "v", count: 60_000))
        #expect(try agent.put("big/one", big).status == 200)
        // Far more events than a handler queues (1,000): all written at the agent's pace.
        var refused = 0
        for n in 0..<1_200 where try agent.put("many/\(n % 20)", .number(Double(n))).status != 200 { refused += 1 }
        #expect(refused == 0)
        func count(_ name: String, _ labels: String) -> Double { agent.metric("\(name){\(labels)} ") }
        #expect(
            await eventually {
                count("hearsay_event_handler_failures_total", "handler=\"1\",reason=\"exit_status\"") >= 100
            }, "\(agent.logText.suffix(2_000))")
        #expect(
            await eventually { count("hearsay_event_handler_failures_total", "handler=\"2\",reason=\"timeout\"") >= 2 })
        #expect(count("hearsay_event_handler_dropped_total", "handler=\"2\"") >= 100)
        #expect(await eventually { count("hearsay_event_handler_runs_total", "handler=\"3\"") >= 100 })
        #expect(agent.metric("hearsay_event_handler_failures_total{handler=\"3\"") == 0)
        #expect(
            await eventually { count("hearsay_event_handler_failures_total", "handler=\"4\",reason=\"timeout\"") == 1 }
        )
        #expect(count("hearsay_event_handler_runs_total", "handler=\"4\"") == 1)
        // The agent answers at once while handler 2 sleeps through its queue.
        #expect(try agent.put("after/all", .number(1)).status == 200)
        let failed = agent.logText.split(separator: "\n").first {
            $0.contains("\"event\":\"event_handler_failed\"") && $0.contains("\"status\":\"3\"")
        }
        #expect(failed?.contains("broken") == true, "\(String(describing: failed))")
    }

    @Test func eachHandlerRunsItsEventsInOrderAndAStoppingAgentEndsARunningOne() async throws {
        let cluster = AgentCluster(size: 1)
        defer { cluster.stop() }
        let out = try outputDirectory(cluster)
        let agent = cluster.agents[0]
        try agent.start(
            key: cluster.key,
            extra: [
                "--event-handler", "metadata_written,prefix:seq/=echo $HEARSAY_INDEX >> \(out)/order",
                "--event-handler", "metadata_written,prefix:stop/=echo $$ > \(out)/pid; exec sleep 60",
            ])
        #expect(await eventually { agent.members()[agent.name] == "alive" })
        for n in 0..<40 { _ = try agent.put("seq/\(n)", .number(Double(n))) }
        #expect(await eventually { read("\(out)/order").split(separator: "\n").count == 40 }, "\(read("\(out)/order"))")
        let order = read("\(out)/order").split(separator: "\n").compactMap { Int($0) }
        #expect(order == order.sorted() && Set(order).count == 40, "\(order)")
        #expect(try agent.put("stop/now", .number(1)).status == 200)
        #expect(await eventually { Int32(read("\(out)/pid").trimmingCharacters(in: .whitespacesAndNewlines)) != nil })
        let pid = Int32(read("\(out)/pid").trimmingCharacters(in: .whitespacesAndNewlines))!
        #expect(kill(pid, 0) == 0)
        agent.signal(SIGTERM)
        #expect(await agent.waitForExit(timeout: .seconds(30)) == 0, "\(agent.logText.suffix(2_000))")
        #expect(await eventually(timeout: .seconds(10)) { kill(pid, 0) != 0 }, "the handler's sleep still runs")
    }
}
