import HearsayCore
import HearsayNode
import HearsayWire
import Testing

@Suite struct SettingsTests {
    @Test func defaultsMatchTheSeedAndTheDesign() throws {
        let settings = try NodeSettings.resolve(SettingSources())
        #expect(settings.gossipInterval == .seconds(30))
        #expect(settings.maxGossipPeers == 5)
        #expect(settings.messageBufferSize == 1000)
        #expect(settings.bind == HostPort(host: "0.0.0.0", port: 7946))
        #expect(settings.http == HostPort(host: "0.0.0.0", port: 7947))
        #expect(settings.logFormat == .json)
    }

    @Test func flagsBeatEnvironmentBeatsFileBeatsDefaults() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let file = dir.file("hearsay.json")
        try
            #"{"gossip-interval": "20s", "probe-interval": "2s", "max-gossip-peers": 4, "join": ["10.0.0.1", "10.0.0.2:8000"]}"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        var sources = SettingSources(
            flags: ["gossip-interval": ["5s"]],
            environment: ["HEARSAY_GOSSIP_INTERVAL": "10s", "HEARSAY_PROBE_INTERVAL": "1500ms"])
        try sources.loadFile(file, definitions: NodeSettings.definitions)
        let settings = try NodeSettings.resolve(sources)
        #expect(settings.gossipInterval == .seconds(5))  // flag
        #expect(settings.probeInterval == .milliseconds(1500))  // environment
        #expect(settings.maxGossipPeers == 4)  // file
        #expect(settings.join == [HostPort(host: "10.0.0.1", port: 7946), HostPort(host: "10.0.0.2", port: 8000)])
        #expect(settings.messageBufferSize == 1000)  // default
    }

    @Test func anEmptyDataDirectoryIsMemoryOnlyAndAKeyMayEndInANewline() throws {
        let key = Base64.encode([UInt8](repeating: 7, count: 32))
        let settings = try NodeSettings.resolve(
            SettingSources(environment: ["HEARSAY_DATA_DIR": "", "HEARSAY_KEY": key + "\n"]))
        #expect(settings.dataDir == nil)
        #expect(settings.key == [UInt8](repeating: 7, count: 32))
    }

    @Test func anOutOfRangeValueNamesTheSettingTheValueItsSourceAndTheRange() {
        let sources = SettingSources(environment: ["HEARSAY_GOSSIP_INTERVAL": "2h"])
        #expect {
            _ = try NodeSettings.resolve(sources)
        } throws: { error in
            let text = "\(error)"
            return text.contains("HEARSAY_GOSSIP_INTERVAL") && text.contains("2h") && text.contains("1s to 1h")
        }
        #expect(throws: ValidationError.self) {
            _ = try NodeSettings.resolve(SettingSources(flags: ["gossip-interval": ["500ms"]]))
        }
    }

    @Test(arguments: [
        ("max-gossip-peers", "0"), ("max-gossip-peers", "x"), ("bind", "1.2.3.4:99999"), ("log-level", "loud"),
        ("log-format", "xml"), ("encrypt", "maybe"), ("max-body-bytes", "10"), ("advertise", "0.0.0.0:7946"),
        ("advertise", "node.example:7946"), ("key", "not base64!"), ("probe-timeout", "2s"), ("name", "has space"),
        ("join-retry-interval", "1ms"), ("bind", "127.0.0.1:0"), ("advertise", "10.0.0.1:0"),
        ("max-stream-buffer-bytes", "1000"), ("max-http-connections", "7"), ("stream-timeout", "0s"),
    ])
    func badValuesAreRefusedWithTheirSetting(setting: String, value: String) {
        #expect {
            _ = try NodeSettings.resolve(SettingSources(flags: [setting: [value]]))
        } throws: { error in
            "\(error)".contains(setting)
        }
    }

    @Test func aConfigFileWithAnUnknownKeyOrBadJSONIsRefused() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let known = NodeSettings.definitions
        let misspelt = dir.file("a.json")
        try #"{"gossip-intervall": "10s"}"#.write(toFile: misspelt, atomically: true, encoding: .utf8)
        var sources = SettingSources()
        #expect(throws: ValidationError.self) { try sources.loadFile(misspelt, definitions: known) }
        let broken = dir.file("b.json")
        try #"{"gossip-interval": "#.write(toFile: broken, atomically: true, encoding: .utf8)
        #expect(throws: ValidationError.self) { try sources.loadFile(broken, definitions: known) }
        #expect(throws: ValidationError.self) { try sources.loadFile(dir.file("missing.json"), definitions: known) }
    }

    @Test func aConfigFileValueMustHaveItsSettingsType() throws {
        // Issue 13, item 8: {"gossip-interval": 5} was read as 5 seconds.
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let file = dir.file("c.json")
        for bad in [
            #"{"gossip-interval": 5}"#, #"{"name": 7}"#, #"{"encrypt": 1}"#, #"{"max-body-bytes": true}"#,
            #"{"join": 5}"#,
        ] {
            try bad.write(toFile: file, atomically: true, encoding: .utf8)
            var sources = SettingSources()
            #expect(throws: ValidationError.self, "\(bad)") {
                try sources.loadFile(file, definitions: NodeSettings.definitions)
            }
        }
        try
            #"{"gossip-interval": "5s", "max-body-bytes": 2048, "encrypt": true, "compress": "false", "join": "10.0.0.1"}"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        var sources = SettingSources()
        try sources.loadFile(file, definitions: NodeSettings.definitions)
        let settings = try NodeSettings.resolve(sources)
        #expect(settings.gossipInterval == .seconds(5) && settings.maxBodyBytes == 2048 && settings.encrypt)
        #expect(!settings.compress && settings.join.map(\.host) == ["10.0.0.1"])
    }

    @Test func hostPortsParseIPv4IPv6AndNames() throws {
        #expect(
            try HostPort(parsing: "10.1.2.3:80", defaultPort: nil, setting: "x") == HostPort(host: "10.1.2.3", port: 80)
        )
        #expect(
            try HostPort(parsing: "[fd00::1]:7946", defaultPort: nil, setting: "x")
                == HostPort(host: "fd00::1", port: 7946))
        #expect(try HostPort(parsing: "fd00::1", defaultPort: 7946, setting: "x").description == "[fd00::1]:7946")
        #expect(try HostPort(parsing: "hearsay.default.svc", defaultPort: 7946, setting: "x").port == 7946)
        #expect(throws: ValidationError.self) { try HostPort(parsing: "host:", defaultPort: 1, setting: "x") }
        #expect(throws: ValidationError.self) { try HostPort(parsing: "[::1", defaultPort: 1, setting: "x") }
        #expect(throws: ValidationError.self) { try HostPort(parsing: "host", defaultPort: nil, setting: "x") }
    }

    @Test func namesResolveToEveryAddressAndLiteralsToThemselves() throws {
        let literal = try AddressResolver.resolve(HostPort(host: "127.0.0.1", port: 1)).get()
        #expect(literal == [HostPort(host: "127.0.0.1", port: 1)])
        let local = try AddressResolver.resolve(HostPort(host: "localhost", port: 7946)).get()
        #expect(!local.isEmpty && local.allSatisfy { IPAddressText.isLiteral($0.host) && $0.port == 7946 })
        #expect(throws: ResolutionError.self) {
            try AddressResolver.resolve(HostPort(host: "no-such-host.invalid", port: 1)).get()
        }
    }
}
