import Foundation
import HearsayCore
import HearsayNode
import Testing

/// The repository's root, for the Prometheus and Grafana files under test.
private let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// Runs a command in the repository's root to its end; its exit status and output.
private func run(_ executable: String, _ arguments: [String], input: Data? = nil) throws -> (Int32, String) {
    let run = try ProgramRun(executable, arguments, input: input, directory: repositoryRoot)
    return (run.status, run.output)
}

/// A real Prometheus server (Debian's package, which `make test` installs) scraping
/// real agents with the repository's alert rules.
private final class PrometheusServer: @unchecked Sendable {
    // @unchecked: driven by one test task; the process is only started and killed there.
    static let binary = "/usr/bin/prometheus"
    let port = FreePorts.take(1)[0]
    let process = Process()

    init(configuration: String, storage: String) throws {
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = [
            "--config.file=\(configuration)", "--storage.tsdb.path=\(storage)",
            "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    var api: PrometheusAPI { PrometheusAPI(address: HostPort(host: "127.0.0.1", port: port)) }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Prometheus's HTTP API, wherever the server runs (a test's own process, or the
/// Compose stack's container).
private struct PrometheusAPI {
    let address: HostPort

    var client: APIClient { APIClient(address: address) }

    /// The result vector of an instant query; nil when the query failed.
    func query(_ expression: String) -> [JSONValue]? {
        guard let response = try? client.request("GET", "/api/v1/query?query=" + PercentEncoding.encode(expression)),
            case .object(let root)? = response.json, root["status"] == .string("success"),
            case .object(let data)? = root["data"], case .array(let result)? = data["result"]
        else { return nil }
        return result
    }

    /// The loaded alerting rules: name and query.
    func alertingRules() -> [(name: String, query: String)] {
        guard let response = try? client.request("GET", "/api/v1/rules?type=alert"),
            case .object(let root)? = response.json, case .object(let data)? = root["data"],
            case .array(let groups)? = data["groups"]
        else { return [] }
        var rules: [(String, String)] = []
        for case .object(let group) in groups {
            guard case .array(let list)? = group["rules"] else { continue }
            for case .object(let rule) in list {
                if case .string(let name)? = rule["name"], case .string(let query)? = rule["query"] {
                    rules.append((name, query))
                }
            }
        }
        return rules
    }

    /// Names of the alerts firing now.
    func firingAlerts() -> Set<String> {
        guard let response = try? client.request("GET", "/api/v1/alerts"), case .object(let root)? = response.json,
            case .object(let data)? = root["data"], case .array(let alerts)? = data["alerts"]
        else { return [] }
        var names: Set<String> = []
        for case .object(let alert) in alerts where alert["state"] == .string("firing") {
            if case .object(let labels)? = alert["labels"], case .string(let name)? = labels["alertname"] {
                names.insert(name)
            }
        }
        return names
    }
}

/// Every query of the dashboard, with Grafana's variables filled in as Grafana would for
/// "all instances".
private func dashboardQueries() throws -> [String] {
    let data = try Data(contentsOf: URL(fileURLWithPath: repositoryRoot + "/grafana/dashboards/hearsay.json"))
    guard case .object(let dashboard) = try JSONValue.parse(bytes: Array(data)),
        case .array(let panels)? = dashboard["panels"]
    else { return [] }
    var queries: [String] = []
    for case .object(let panel) in panels {
        guard case .array(let targets)? = panel["targets"] else { continue }
        for case .object(let target) in targets {
            if case .string(let expression)? = target["expr"] {
                queries.append(
                    expression.replacingOccurrences(of: "$__rate_interval", with: "1m")
                        .replacingOccurrences(of: "$instance", with: ".*"))
            }
        }
    }
    return queries
}

@Suite(.serialized) struct ObservabilityTests {
    @Test func prometheusScrapesRealAgentsAndEveryPanelAndAlertHasData() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: PrometheusServer.binary),
            "Debian's prometheus package is needed (make test installs it)")
        let cluster = AgentCluster(size: 3)
        defer { cluster.stop() }
        // A handler, so that the event handler panel and alerts have series to read.
        try cluster.start(extra: ["--event-handler", "member=true"])
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) })
        for index in 0..<3 {
            #expect(try cluster.agents[0].put("services/s\(index)", .number(Double(index))).status == 200)
        }

        // A test copy of the scrape config: the same job, loopback targets, 1 s scrapes.
        let configuration = cluster.directory.file("prometheus.yml")
        let targets = cluster.agents.map { "\"127.0.0.1:\($0.httpPort)\"" }.joined(separator: ", ")
        try """
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        rule_files:
          - \(repositoryRoot)/prometheus/hearsay.rules.yml
        scrape_configs:
          - job_name: hearsay
            static_configs:
              - targets: [\(targets)]
        """.write(toFile: configuration, atomically: true, encoding: .utf8)
        let promtool = "/usr/bin/promtool"
        let (configStatus, configText) = try run(promtool, ["check", "config", configuration])
        #expect(configStatus == 0, "\(configText)")
        let (rulesStatus, rulesText) = try run(promtool, ["check", "rules", "prometheus/hearsay.rules.yml"])
        #expect(rulesStatus == 0 && !rulesText.contains("WARNING"), "\(rulesText)")
        let (testStatus, testText) = try run(promtool, ["test", "rules", "prometheus/hearsay.test.yml"])
        #expect(testStatus == 0, "\(testText)")
        let scrape = try cluster.agents[1].client.request("GET", "/metrics")
        let (metricsStatus, metricsText) = try run(promtool, ["check", "metrics"], input: Data(scrape.body))
        #expect(metricsStatus == 0 && metricsText.isEmpty, "promtool check metrics: \(metricsText)")

        let server = try PrometheusServer(configuration: configuration, storage: cluster.directory.file("tsdb"))
        defer { server.stop() }
        let prometheus = server.api
        let scraping = await eventually(timeout: .seconds(60)) {
            prometheus.query(#"count(up{job="hearsay"} == 1) == 3"#)?.isEmpty == false
        }
        #expect(scraping, "Prometheus never scraped all three agents")

        // Kill one agent: its peers declare it failed and the alert must fire (after its 2 m).
        let victim = cluster.agents[2]
        victim.signal(SIGKILL)
        var failed = cluster.everyoneAlive()
        failed[victim.name] = "failed"
        #expect(await eventually { cluster.allSee(failed, observers: Array(cluster.agents.prefix(2))) })

        try await expectEveryPanelAndAlertHasData(prometheus)

        let fired = await eventually(timeout: .seconds(200)) {
            prometheus.firingAlerts().contains("HearsayMemberFailed")
        }
        #expect(fired, "firing: \(prometheus.firingAlerts())")
        #expect(prometheus.firingAlerts().contains("HearsayTargetDown"))
    }

    /// The Compose stack's Prometheus (Tests/Deployment runs this with the stack up):
    /// every agent's target is up, the rules loaded, and every panel and alert has data.
    @Test(.enabled(if: composePrometheus != nil, "run by the Compose test in Tests/Deployment"))
    func theComposeStacksPrometheusScrapesEveryAgentAndEveryPanelAndAlertHasData() async throws {
        let prometheus = try #require(composePrometheus)
        let agents = Int(ProcessInfo.processInfo.environment["HEARSAY_TEST_AGENTS"] ?? "3") ?? 3
        let scraping = await eventually(timeout: .seconds(90)) {
            prometheus.query(#"count(up{job="hearsay"} == 1) == \#(agents)"#)?.isEmpty == false
        }
        #expect(scraping, "up: \(prometheus.query(#"up{job="hearsay"}"#) ?? [])")
        try await expectEveryPanelAndAlertHasData(prometheus)
    }
}

/// The Prometheus that `HEARSAY_TEST_PROMETHEUS` (host:port) names, if any.
private let composePrometheus: PrometheusAPI? = ProcessInfo.processInfo.environment["HEARSAY_TEST_PROMETHEUS"].flatMap {
    (try? HostPort(parsing: $0, defaultPort: 9090, setting: "HEARSAY_TEST_PROMETHEUS")).map(PrometheusAPI.init)
}

/// No empty panel: every dashboard query returns data; every alert's query is valid and
/// every series it reads is there.
private func expectEveryPanelAndAlertHasData(_ prometheus: PrometheusAPI) async throws {
    let queries = try dashboardQueries()
    #expect(queries.count >= 20)
    let panelsHaveData = await eventually(timeout: .seconds(60)) {
        queries.allSatisfy { prometheus.query($0)?.isEmpty == false }
    }
    #expect(panelsHaveData, "empty: \(queries.filter { prometheus.query($0)?.isEmpty != false })")

    let rules = prometheus.alertingRules()
    #expect(rules.count >= 6)
    let seriesPattern = try Regex(#"\b(hearsay_[a-z_]+|process_[a-z_]+|up)\b"#)
    for rule in rules {
        #expect(prometheus.query(rule.query) != nil, "\(rule.name): the query fails")
        for match in rule.query.matches(of: seriesPattern) {
            let series = String(rule.query[match.range])
            #expect(
                prometheus.query("count(\(series){job=\"hearsay\"})")?.isEmpty == false,
                "\(rule.name) reads \(series), which has no data")
        }
    }
}
