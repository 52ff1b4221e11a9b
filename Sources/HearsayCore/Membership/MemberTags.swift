/// What a member says about itself in `key=value` pairs (a role, a zone, a port), as
/// serf's tags: gossiped with its heartbeat payload, so that every member can tell the
/// others apart and find the ones it wants.
///
/// The bounds keep a member's tags inside one alive rumor and that rumor inside a
/// datagram: each tag travels as one capability string `tag:KEY=VALUE`
/// (`NodeHeartbeat`), which every decoder reads with a 128-byte bound.
public struct MemberTags: Hashable, Sendable, CustomStringConvertible {
    /// The tags by key.
    public let pairs: [String: String]

    /// The most tags a member may have.
    public static let maxCount = 64
    /// The most bytes of one key.
    public static let maxKeyBytes = 64
    /// The most bytes of one key and its value together.
    public static let maxEntryBytes = 120
    /// The most bytes of every key and value together.
    public static let maxTotalBytes = 512

    /// No tags.
    public static let none = MemberTags(validated: [:])

    /// Tags after checking them against the bounds. A key is 1 to 64 bytes of letters,
    /// digits and `_ . - /` (so that `key:value` filters and `key=value` flags split
    /// without doubt); a value is UTF-8 without control characters.
    public init(_ pairs: [String: String]) throws(ValidationError) {
        guard pairs.count <= Self.maxCount else {
            throw ValidationError(setting: "tags", value: "\(pairs.count) tags", allowed: "at most \(Self.maxCount)")
        }
        var total = 0
        for (key, value) in pairs {
            try Self.check(key: key)
            try Self.check(value: value, of: key)
            total += key.utf8.count + value.utf8.count
        }
        guard total <= Self.maxTotalBytes else {
            throw ValidationError(
                setting: "tags", value: "\(total) bytes of keys and values",
                allowed: "at most \(Self.maxTotalBytes) bytes in all")
        }
        self.pairs = pairs
    }

    private init(validated pairs: [String: String]) {
        self.pairs = pairs
    }

    /// Checks one key.
    public static func check(key: String) throws(ValidationError) {
        guard !key.isEmpty, key.utf8.count <= maxKeyBytes else {
            throw ValidationError(setting: "tag key", value: key, allowed: "1 to \(maxKeyBytes) bytes")
        }
        guard key.utf8.allSatisfy(isKeyByte) else {
            throw ValidationError(setting: "tag key", value: key, allowed: "letters, digits and _ . - /")
        }
    }

    private static func check(value: String, of key: String) throws(ValidationError) {
        guard key.utf8.count + value.utf8.count <= maxEntryBytes else {
            throw ValidationError(
                setting: "tag \(key)", value: "\(value.utf8.count) bytes",
                allowed: "at most \(maxEntryBytes) bytes of key and value together")
        }
        // C0, DEL and C1 controls and the line and paragraph separators: values are printed
        // in tables, logs and terminals, where these move the cursor or start escapes.
        let printable = value.unicodeScalars.allSatisfy { scalar in
            switch scalar.properties.generalCategory {
            case .control, .lineSeparator, .paragraphSeparator: false
            default: true
            }
        }
        guard printable else {
            throw ValidationError(setting: "tag \(key)", value: value, allowed: "text without control characters")
        }
    }

    private static func isKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"),
            UInt8(ascii: "/"):
            true
        default: false
        }
    }

    /// The value of `key`, if tagged.
    public subscript(key: String) -> String? { pairs[key] }

    /// Whether there are none.
    public var isEmpty: Bool { pairs.isEmpty }

    /// The tags in the order of their keys' bytes.
    public var sorted: [(key: String, value: String)] {
        pairs.sorted { JSONValue.precedes($0.key, $1.key) }.map { ($0.key, $0.value) }
    }

    /// `key=value,key=value` in key order, for logs.
    public var description: String {
        sorted.map { $0.key + "=" + $0.value }.joined(separator: ",")
    }

    /// The tags as a JSON object.
    public var json: JSONValue {
        .object(pairs.mapValues(JSONValue.string))
    }

    // MARK: On the wire

    /// What a capability string that carries a tag starts with. Capabilities of the
    /// node's own never do.
    package static let capabilityPrefix = "tag:"

    /// Each tag as the capability string it travels as, in key order.
    package var capabilities: [String] {
        sorted.map { Self.capabilityPrefix + $0.key + "=" + $0.value }
    }

    /// Splits capability strings into the plain ones and the tags they carry; nil
    /// when a tag string is malformed or the tags break a bound.
    package static func split(capabilities: [String]) -> (capabilities: [String], tags: MemberTags)? {
        guard capabilities.contains(where: { $0.hasPrefix(capabilityPrefix) }) else {
            return (capabilities, .none)
        }
        var plain: [String] = []
        var pairs: [String: String] = [:]
        for capability in capabilities {
            guard capability.hasPrefix(capabilityPrefix) else {
                plain.append(capability)
                continue
            }
            let body = capability.utf8.dropFirst(capabilityPrefix.utf8.count)
            guard let equals = body.firstIndex(of: UInt8(ascii: "=")) else { return nil }
            let key = String(Substring(body[..<equals]))
            guard pairs[key] == nil else { return nil }
            pairs[key] = String(Substring(body[body.index(after: equals)...]))
        }
        guard let tags = try? MemberTags(pairs) else { return nil }
        return (plain, tags)
    }
}
