import HearsayCore

/// The settings `hearsay agent` takes: the one list that flags, `HEARSAY_*` variables,
/// the config file's keys and `--help` texts are read from.
extension NodeSettings {
    /// One setting: its name (flag, variable and file key), what it takes, its default.
    package struct Definition: Sendable {
        package let name: String
        package let help: String
        package let defaultText: String
        /// What the setting takes; a config file must give it as that JSON type.
        package let kind: Kind
        /// Whether the setting takes a list.
        package var isList: Bool { kind == .list }

        /// What a setting takes.
        package enum Kind: Sendable {
            /// A string (in a config file: a JSON string).
            case text
            /// A whole number (a JSON number, or a string of one).
            case integer
            /// A duration such as `10s` (a JSON string: a bare number's unit would be a guess).
            case duration
            /// `true` or `false` (a JSON boolean, or a string of one).
            case boolean
            /// Strings (a JSON array of strings, or one string).
            case list
        }
    }

    /// Every setting, for `--help`, the docs and the config file's known keys.
    package static let definitions: [Definition] =
        [
            .init(
                name: "name", help: "node name, unique in the cluster", defaultText: "stored name, else host name",
                kind: .text),
            .init(name: "bind", help: "gossip address, UDP and TCP", defaultText: "0.0.0.0:7946", kind: .text),
            .init(
                name: "advertise", help: "address peers use to reach this node (an IP)",
                defaultText: "bind address, or the first non-loopback IPv4 when bound to 0.0.0.0", kind: .text),
            .init(name: "http", help: "HTTP API and /metrics address", defaultText: "0.0.0.0:7947", kind: .text),
            .init(
                name: "join",
                help: "join seed: an address to join through (repeatable; host names may resolve to several)",
                defaultText: "none", kind: .list),
            .init(
                name: "join-retry-interval",
                help: "longest wait between join attempts until one succeeds (from 200ms, doubling)", defaultText: "5s",
                kind: .duration),
            .init(
                name: "data-dir", help: "directory for the metadata store and node identity",
                defaultText: "none (memory only)", kind: .text),
            .init(name: "key", help: "cluster key in base64 (see hearsay keygen)", defaultText: "none", kind: .text),
            .init(
                name: "keyring",
                help: "keyring file: JSON array of base64 keys, primary first; with key, the key seeds it when missing",
                defaultText: "none", kind: .text),
            .init(
                name: "encrypt", help: "encrypt frames with AES-256-GCM (true/false)", defaultText: "false",
                kind: .boolean),
            .init(
                name: "compress", help: "compress frames over 256 bytes (true/false)", defaultText: "true",
                kind: .boolean),
            .init(
                name: "max-stream-frame-bytes", help: "largest TCP frame accepted, 64 KiB to 256 MiB",
                defaultText: "16777216", kind: .integer),
            .init(
                name: "max-gossip-connections", help: "inbound gossip TCP connections open at once, 8 to 65536",
                defaultText: "1024", kind: .integer),
            .init(
                name: "max-gossip-connections-per-address",
                help: "inbound gossip TCP connections from one IP address, 1 to 65536", defaultText: "64",
                kind: .integer),
            .init(
                name: "max-stream-buffer-bytes",
                help:
                    "bytes all gossip TCP connections may hold for frames being received, from max-stream-frame-bytes to 4 GiB",
                defaultText: "67108864", kind: .integer),
            .init(
                name: "stream-timeout",
                help: "time for a gossip TCP frame to arrive whole, and for the first to begin, 1s to 10m",
                defaultText: "30s", kind: .duration),
            .init(
                name: "gossip-interval", help: "gossip round interval, 1s to 1h", defaultText: "30s", kind: .duration),
            .init(
                name: "probe-interval", help: "failure detector probe interval, 10ms to 60s", defaultText: "1s",
                kind: .duration),
            .init(
                name: "probe-timeout", help: "direct probe timeout, below the probe interval", defaultText: "500ms",
                kind: .duration),
            .init(
                name: "gossip-nodes", help: "peers a broadcast goes to per tick, 1 to 64", defaultText: "3",
                kind: .integer),
            .init(name: "max-gossip-peers", help: "peers per gossip round, 1 to 64", defaultText: "5", kind: .integer),
            .init(
                name: "message-buffer-size", help: "queued broadcasts kept, 1 to 1000000", defaultText: "1000",
                kind: .integer),
            .init(
                name: "api-token", help: "bearer token required by mutating API calls", defaultText: "none", kind: .text
            ),
            .init(
                name: "max-body-bytes", help: "largest HTTP request body, 1 KiB to 64 MiB", defaultText: "1048576",
                kind: .integer),
            .init(
                name: "max-http-connections", help: "HTTP connections open at once, 8 to 65536", defaultText: "1024",
                kind: .integer),
            .init(
                name: "max-http-connections-per-address", help: "HTTP connections from one IP address, 1 to 65536",
                defaultText: "256", kind: .integer),
            .init(
                name: "max-http-buffer-bytes",
                help:
                    "bytes all HTTP connections may hold for request bodies being received, from max-body-bytes to 4 GiB",
                defaultText: "67108864", kind: .integer),
            .init(
                name: "http-request-timeout", help: "time for a request to arrive whole from its first byte, 1s to 10m",
                defaultText: "30s", kind: .duration),
            .init(
                name: "http-idle-timeout",
                help: "time a connection may stay open without a request, or with an answer not taken whole, 1s to 1h",
                defaultText: "60s", kind: .duration),
            .init(name: "log-level", help: "debug, info, notice, warning or error", defaultText: "info", kind: .text),
            .init(name: "log-format", help: "json (one object per line) or text", defaultText: "json", kind: .text),
        ] + eventDefinitions + tagDefinitions
}
