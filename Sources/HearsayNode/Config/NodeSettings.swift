import HearsayCore
import HearsayWire

/// Everything `hearsay agent` can be told, after layering and validation.
package struct NodeSettings: Sendable {
    /// The node's name; nil takes the name stored in the data directory, else the host name.
    package var name: NodeID?
    /// Where gossip listens, UDP and TCP on the same port.
    package var bind = HostPort(host: "0.0.0.0", port: 7946)
    /// The address peers reach this node at; nil derives it from `bind`.
    package var advertise: HostPort?
    /// Where the HTTP API listens.
    package var http = HostPort(host: "0.0.0.0", port: 7947)
    /// Addresses to join through; host names are resolved again at every attempt.
    package var join: [HostPort] = []
    /// The longest wait between join attempts while no seed has answered; the waits start
    /// at 200 ms and double up to it.
    package var joinRetryInterval: Duration = .seconds(5)
    /// Where the metadata store and identity persist; nil keeps them in memory only.
    package var dataDir: String?
    /// A cluster key in base64 (the keyring's only key).
    package var key: [UInt8]?
    /// A keyring file (JSON array of base64 keys, primary first).
    package var keyringFile: String?
    /// Encrypt every frame with AES-256-GCM.
    package var encrypt = false
    /// Compress frames larger than 256 bytes.
    package var compress = true
    /// The largest length-prefixed TCP frame accepted.
    package var maxStreamFrameBytes = WireLimits.defaultMaxStreamFrameBytes
    /// Inbound gossip TCP connections open at once.
    package var maxGossipConnections = 1024
    /// Inbound gossip TCP connections open at once from one IP address.
    package var maxGossipConnectionsPerAddress = 64
    /// Bytes all gossip TCP connections may hold at once for frames being received.
    package var maxStreamBufferBytes = 4 * WireLimits.defaultMaxStreamFrameBytes
    /// How long a gossip TCP frame may take to arrive whole, and the first to begin.
    package var streamTimeout: Duration = .seconds(30)
    /// The Go original's gossip round interval (anti-entropy), 1s to 1h.
    package var gossipInterval: Duration = .seconds(30)
    /// SWIM probe interval.
    package var probeInterval: Duration = .seconds(1)
    /// SWIM direct probe timeout.
    package var probeTimeout: Duration = .milliseconds(500)
    /// Peers each broadcast is pushed to per gossip tick.
    package var gossipNodes = 3
    /// Peers per gossip round, at most 5 by default as in the Go original.
    package var maxGossipPeers = 5
    /// The message buffer's capacity.
    package var messageBufferSize = 1000
    /// A bearer token required by mutating API endpoints.
    package var apiToken: String?
    /// The largest HTTP request body accepted.
    package var maxBodyBytes = 1024 * 1024
    /// HTTP connections open at once.
    package var maxHTTPConnections = 1024
    /// HTTP connections open at once from one IP address.
    package var maxHTTPConnectionsPerAddress = 256
    /// Bytes all HTTP connections may hold at once for request bodies being received.
    package var maxHTTPBufferBytes = 64 * 1024 * 1024
    /// How long a request may take from its first byte until its body is whole.
    package var httpRequestTimeout: Duration = .seconds(30)
    /// How long a connection may stay open with no request, or with an answer its client
    /// does not take.
    package var httpIdleTimeout: Duration = .seconds(60)
    /// The lowest log level written.
    package var logLevel: LogLevel = .info
    /// `json` lines, or `text` for people.
    package var logFormat: LogFormat = .json
    /// Commands run for events (`NodeSettings+Events.swift`).
    package var eventHandlers: [EventHandlerSpec] = []
    /// How long one run of an event handler may take before it is killed.
    package var eventHandlerTimeout: Duration = .seconds(30)
    /// The tags given with `--tag` (`NodeSettings+Tags.swift`).
    package var tags: MemberTags = .none

    /// Creates the defaults.
    package init() {}

    /// Resolves every setting from `sources` and validates each, naming the setting, the
    /// value, where it came from and what is allowed.
    package static func resolve(_ sources: SettingSources) throws(ValidationError) -> NodeSettings {
        var settings = NodeSettings()
        let reader = SettingReader(sources: sources)
        if let name = try reader.single("name") {
            do {
                settings.name = try NodeID(name.text)
            } catch {
                throw ValidationError(setting: name.origin, value: name.text, allowed: error.allowed)
            }
        }
        if let v = try reader.single("bind") {
            settings.bind = try HostPort(parsing: v.text, defaultPort: 7946, setting: v.origin)
            // Peers reach gossip at the port it advertises, UDP and TCP alike: a port the
            // kernel picks would be advertised as 0, and could differ between the two.
            guard settings.bind.port != 0 else {
                throw ValidationError(
                    setting: v.origin, value: v.text, allowed: "a fixed port, 1 to 65535 (peers reach gossip there)")
            }
        }
        if let v = try reader.single("advertise") {
            let address = try HostPort(parsing: v.text, defaultPort: settings.bind.port, setting: v.origin)
            guard IPAddressText.isLiteral(address.host), !IPAddressText.isUnspecified(address.host), address.port != 0
            else {
                throw ValidationError(
                    setting: v.origin, value: v.text,
                    allowed: "an IPv4 or IPv6 address peers can reach, not a host name or 0.0.0.0, and a port from 1")
            }
            settings.advertise = address
        }
        if let v = try reader.single("http") {
            settings.http = try HostPort(parsing: v.text, defaultPort: 7947, setting: v.origin)
        }
        if let list = try sources.values("join") {
            settings.join = try list.values.map { text throws(ValidationError) in
                try HostPort(parsing: text, defaultPort: 7946, setting: list.origin)
            }
        }
        if let v = try reader.single("join-retry-interval") {
            settings.joinRetryInterval = try reader.duration(
                v, within: .milliseconds(100)...(.seconds(600)), "100ms to 10m")
        }
        if let v = try reader.single("data-dir") {
            // Empty is memory only, as when unset: the container image sets a data
            // directory, and an environment variable can be emptied but not removed.
            settings.dataDir = v.text.isEmpty ? nil : v.text
        }
        if let v = try reader.single("key") {
            do {
                // A key read from a file or a secret often ends with a newline; base64 has no
                // white space of its own.
                let key = try Base64.decode(v.text.filter { !$0.isWhitespace })
                _ = try Keyring(primary: key)
                settings.key = key
            } catch {
                throw ValidationError(
                    setting: v.origin, value: "(hidden)", allowed: "a base64 key of 32 bytes (\(error))")
            }
        }
        if let v = try reader.single("keyring") { settings.keyringFile = v.text }
        if let v = try reader.single("encrypt") { settings.encrypt = try reader.bool(v) }
        if let v = try reader.single("compress") { settings.compress = try reader.bool(v) }
        if let v = try reader.single("max-stream-frame-bytes") {
            settings.maxStreamFrameBytes = try reader.integer(
                v, within: 65_536...(256 * 1024 * 1024), "65536 to 268435456")
        }
        if let v = try reader.single("max-gossip-connections") {
            settings.maxGossipConnections = try reader.integer(v, within: 8...65_536, "8 to 65536")
        }
        if let v = try reader.single("max-gossip-connections-per-address") {
            settings.maxGossipConnectionsPerAddress = try reader.integer(v, within: 1...65_536, "1 to 65536")
        }
        if let v = try reader.single("max-stream-buffer-bytes") {
            settings.maxStreamBufferBytes = try reader.integer(
                v, within: settings.maxStreamFrameBytes...(1 << 32),
                "\(settings.maxStreamFrameBytes) (max-stream-frame-bytes) to 4294967296")
        } else {
            settings.maxStreamBufferBytes = max(settings.maxStreamBufferBytes, settings.maxStreamFrameBytes)
        }
        if let v = try reader.single("stream-timeout") {
            settings.streamTimeout = try reader.duration(v, within: .seconds(1)...(.seconds(600)), "1s to 10m")
        }
        if let v = try reader.single("gossip-interval") {
            settings.gossipInterval = try reader.duration(v, within: EngineConfig.gossipIntervalRange, "1s to 1h")
        }
        if let v = try reader.single("probe-interval") {
            settings.probeInterval = try reader.duration(v, within: .milliseconds(10)...(.seconds(60)), "10ms to 60s")
        }
        if let v = try reader.single("probe-timeout") {
            settings.probeTimeout = try reader.duration(
                v, within: .milliseconds(1)...(.seconds(60)), "1ms to 60s, below the probe interval")
        }
        if let v = try reader.single("gossip-nodes") {
            settings.gossipNodes = try reader.integer(v, within: 1...64, "1 to 64")
        }
        if let v = try reader.single("max-gossip-peers") {
            settings.maxGossipPeers = try reader.integer(v, within: 1...64, "1 to 64")
        }
        if let v = try reader.single("message-buffer-size") {
            settings.messageBufferSize = try reader.integer(v, within: 1...1_000_000, "1 to 1000000")
        }
        if let v = try reader.single("api-token") {
            guard !v.text.isEmpty, v.text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw ValidationError(setting: v.origin, value: "(hidden)", allowed: "printable ASCII without spaces")
            }
            settings.apiToken = v.text
        }
        if let v = try reader.single("max-body-bytes") {
            settings.maxBodyBytes = try reader.integer(v, within: 1024...(64 * 1024 * 1024), "1024 to 67108864")
        }
        if let v = try reader.single("max-http-connections") {
            settings.maxHTTPConnections = try reader.integer(v, within: 8...65_536, "8 to 65536")
        }
        if let v = try reader.single("max-http-connections-per-address") {
            settings.maxHTTPConnectionsPerAddress = try reader.integer(v, within: 1...65_536, "1 to 65536")
        }
        if let v = try reader.single("max-http-buffer-bytes") {
            settings.maxHTTPBufferBytes = try reader.integer(
                v, within: settings.maxBodyBytes...(1 << 32), "\(settings.maxBodyBytes) (max-body-bytes) to 4294967296")
        } else {
            settings.maxHTTPBufferBytes = max(settings.maxHTTPBufferBytes, settings.maxBodyBytes)
        }
        if let v = try reader.single("http-request-timeout") {
            settings.httpRequestTimeout = try reader.duration(v, within: .seconds(1)...(.seconds(600)), "1s to 10m")
        }
        if let v = try reader.single("http-idle-timeout") {
            settings.httpIdleTimeout = try reader.duration(v, within: .seconds(1)...(.seconds(3600)), "1s to 1h")
        }
        if let v = try reader.single("log-level") {
            guard let level = LogLevel(rawValue: v.text) else {
                throw ValidationError(
                    setting: v.origin, value: v.text, allowed: "debug, info, notice, warning or error")
            }
            settings.logLevel = level
        }
        if let v = try reader.single("log-format") {
            guard let format = LogFormat(rawValue: v.text) else {
                throw ValidationError(setting: v.origin, value: v.text, allowed: "json or text")
            }
            settings.logFormat = format
        }
        try settings.resolveEventHandlers(reader)
        try settings.resolveTags(reader)
        if settings.probeTimeout >= settings.probeInterval {
            throw ValidationError(
                setting: "probe-timeout", value: settings.probeTimeout.text,
                allowed: "less than the probe interval (\(settings.probeInterval.text))")
        }
        return settings
    }

    /// The gossip address peers are told: `advertise`, else the bind address when it is a
    /// specific IP, else the first non-loopback IPv4 of this host (a pod's IP in
    /// Kubernetes), else loopback.
    package var advertisedAddress: HostPort {
        if let advertise { return advertise }
        if IPAddressText.isLiteral(bind.host), !IPAddressText.isUnspecified(bind.host) { return bind }
        return HostPort(host: Interfaces.firstNonLoopbackIPv4() ?? "127.0.0.1", port: bind.port)
    }
}

/// The log line format.
package enum LogFormat: String, Sendable {
    case json, text
}

/// Reads one setting at a time from the sources, with typed parsers.
struct SettingReader {
    let sources: SettingSources

    struct Value {
        var text: String
        var origin: String
    }

    func single(_ name: String) throws(ValidationError) -> Value? {
        guard let found = try sources.values(name) else { return nil }
        guard found.values.count == 1 else {
            throw ValidationError(
                setting: found.origin, value: found.values.joined(separator: ","), allowed: "one value")
        }
        return Value(text: found.values[0], origin: found.origin)
    }

    func duration(_ v: Value, within range: ClosedRange<Duration>, _ allowed: String) throws(ValidationError)
        -> Duration
    {
        let value = try Duration(parsing: v.text, setting: v.origin)
        guard range.contains(value) else { throw ValidationError(setting: v.origin, value: v.text, allowed: allowed) }
        return value
    }

    func integer(_ v: Value, within range: ClosedRange<Int>, _ allowed: String) throws(ValidationError) -> Int {
        guard let value = Int(v.text), range.contains(value) else {
            throw ValidationError(setting: v.origin, value: v.text, allowed: allowed)
        }
        return value
    }

    func bool(_ v: Value) throws(ValidationError) -> Bool {
        switch v.text.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw ValidationError(setting: v.origin, value: v.text, allowed: "true or false")
        }
    }
}
