import ArgumentParser
import HearsayNode
import Logging
import NIOPosix

/// `hearsay agent`: run a node.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run a Hearsay node: gossip on UDP/TCP, the HTTP API and /metrics.",
        discussion: """
            Settings come from flags, then HEARSAY_* environment variables (HEARSAY_GOSSIP_INTERVAL \
            for --gossip-interval; lists comma-separated), then the JSON config file given by \
            --config or HEARSAY_CONFIG (keys are the flag names: {"gossip-interval": "10s", \
            "join": ["10.0.0.5"]}), then defaults. A cluster key is required (--key or --keyring). \
            SIGTERM or SIGINT leave the cluster gracefully and exit 0.
            """)

    @Option(help: "JSON config file (env HEARSAY_CONFIG)") var config: String?
    @Option(help: .init(NodeSettings.help("name"))) var name: String?
    @Option(help: .init(NodeSettings.help("bind"))) var bind: String?
    @Option(help: .init(NodeSettings.help("advertise"))) var advertise: String?
    @Option(help: .init(NodeSettings.help("http"))) var http: String?
    @Option(help: .init(NodeSettings.help("join"))) var join: [String] = []
    @Option(help: .init(NodeSettings.help("join-retry-interval"))) var joinRetryInterval: String?
    @Option(help: .init(NodeSettings.help("data-dir"))) var dataDir: String?
    @Option(help: .init(NodeSettings.help("key"))) var key: String?
    @Option(help: .init(NodeSettings.help("keyring"))) var keyring: String?
    @Option(help: .init(NodeSettings.help("encrypt"))) var encrypt: String?
    @Option(help: .init(NodeSettings.help("compress"))) var compress: String?
    @Option(help: .init(NodeSettings.help("max-stream-frame-bytes"))) var maxStreamFrameBytes: String?
    @Option(help: .init(NodeSettings.help("max-gossip-connections"))) var maxGossipConnections: String?
    @Option(help: .init(NodeSettings.help("max-gossip-connections-per-address")))
    var maxGossipConnectionsPerAddress: String?
    @Option(help: .init(NodeSettings.help("max-stream-buffer-bytes"))) var maxStreamBufferBytes: String?
    @Option(help: .init(NodeSettings.help("stream-timeout"))) var streamTimeout: String?
    @Option(help: .init(NodeSettings.help("gossip-interval"))) var gossipInterval: String?
    @Option(help: .init(NodeSettings.help("probe-interval"))) var probeInterval: String?
    @Option(help: .init(NodeSettings.help("probe-timeout"))) var probeTimeout: String?
    @Option(help: .init(NodeSettings.help("gossip-nodes"))) var gossipNodes: String?
    @Option(help: .init(NodeSettings.help("max-gossip-peers"))) var maxGossipPeers: String?
    @Option(help: .init(NodeSettings.help("message-buffer-size"))) var messageBufferSize: String?
    @Option(help: .init(NodeSettings.help("api-token"))) var apiToken: String?
    @Option(help: .init(NodeSettings.help("max-body-bytes"))) var maxBodyBytes: String?
    @Option(help: .init(NodeSettings.help("max-http-connections"))) var maxHTTPConnections: String?
    @Option(help: .init(NodeSettings.help("max-http-connections-per-address")))
    var maxHTTPConnectionsPerAddress: String?
    @Option(help: .init(NodeSettings.help("max-http-buffer-bytes"))) var maxHTTPBufferBytes: String?
    @Option(help: .init(NodeSettings.help("http-request-timeout"))) var httpRequestTimeout: String?
    @Option(help: .init(NodeSettings.help("http-idle-timeout"))) var httpIdleTimeout: String?
    @Option(help: .init(NodeSettings.help("log-level"))) var logLevel: String?
    @Option(help: .init(NodeSettings.help("log-format"))) var logFormat: String?
    @Option(help: .init(NodeSettings.help("event-handler"))) var eventHandler: [String] = []
    @Option(help: .init(NodeSettings.help("event-handler-timeout"))) var eventHandlerTimeout: String?
    @Option(help: .init(NodeSettings.help("tag"))) var tag: [String] = []

    /// The flags that were given, by setting name.
    var givenFlags: [String: [String]] {
        let pairs: [(String, String?)] = [
            ("name", name), ("bind", bind), ("advertise", advertise), ("http", http),
            ("join-retry-interval", joinRetryInterval), ("data-dir", dataDir), ("key", key), ("keyring", keyring),
            ("encrypt", encrypt), ("compress", compress), ("max-stream-frame-bytes", maxStreamFrameBytes),
            ("gossip-interval", gossipInterval), ("probe-interval", probeInterval), ("probe-timeout", probeTimeout),
            ("gossip-nodes", gossipNodes), ("max-gossip-peers", maxGossipPeers),
            ("message-buffer-size", messageBufferSize), ("api-token", apiToken), ("max-body-bytes", maxBodyBytes),
            ("log-level", logLevel), ("log-format", logFormat), ("max-gossip-connections", maxGossipConnections),
            ("max-gossip-connections-per-address", maxGossipConnectionsPerAddress),
            ("max-stream-buffer-bytes", maxStreamBufferBytes), ("stream-timeout", streamTimeout),
            ("max-http-connections", maxHTTPConnections),
            ("max-http-connections-per-address", maxHTTPConnectionsPerAddress),
            ("max-http-buffer-bytes", maxHTTPBufferBytes), ("http-request-timeout", httpRequestTimeout),
            ("http-idle-timeout", httpIdleTimeout),
            ("event-handler-timeout", eventHandlerTimeout),
        ]
        var flags: [String: [String]] = [:]
        for (setting, value) in pairs { if let value { flags[setting] = [value] } }
        if !join.isEmpty { flags["join"] = join }
        if !eventHandler.isEmpty { flags["event-handler"] = eventHandler }
        if !tag.isEmpty { flags["tag"] = tag }
        return flags
    }

    func run() async throws {
        try await Self.run(config: config, flags: givenFlags)
    }

    /// Runs the agent with the given flags, by setting name: from `run()`, or from `Main`
    /// when `SettingFlags` read the command line without ArgumentParser.
    static func run(config: String?, flags: [String: [String]]) async throws {
        var sources = SettingSources(flags: flags, environment: ProcessEnvironment.settings())
        let settings: NodeSettings
        do {
            if let file = config ?? ProcessEnvironment.value("HEARSAY_CONFIG") {
                try sources.loadFile(file, definitions: NodeSettings.definitions)
            }
            settings = try NodeSettings.resolve(sources)
        } catch {
            printError("hearsay agent: \(error)")
            throw ExitCode(2)
        }
        let format = settings.logFormat
        let level = Logger.Level(settings.logLevel)
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, format: format, level: level) }
        let logger = Logger(label: "hearsay")
        for name in ProcessEnvironment.unknownSettingVariables() {
            logger.warning(
                "\(name) is not a setting and is ignored (docs/operations.md lists them)",
                metadata: ["event": "unknown_setting", "variable": "\(name)"])
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let signals = ShutdownSignals()
        do {
            let node = try Node(settings: settings, eventLoop: group.next(), logger: logger)
            try await node.start()
            let requests = signals.requests
            let leaving = Task {
                for await _ in requests { await node.leave() }
            }
            await node.waitUntilFinished()
            leaving.cancel()
        } catch {
            printError("hearsay agent: \(error)")
            try? await group.shutdownGracefully()
            // A missing key or an unusable keyring is a setting like any other (2); what
            // the machine refuses (a port in use, a data directory) is 1.
            switch error {
            case .invalidSetting, .missingKey, .keyring: throw ExitCode(2)
            default: throw ExitCode(1)
            }
        }
        try? await group.shutdownGracefully()
        withExtendedLifetime(signals) {}
    }
}
