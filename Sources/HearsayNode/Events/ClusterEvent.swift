import HearsayCore

/// One change a watcher of `GET /v1/events` is told of: a member's state, or an entry's.
///
/// Rendered once, when it happens, as one line of compact JSON, which every stream
/// that wants it writes as it is: a change costs the same for one watcher or ten
/// thousand.
struct ClusterEvent: Sendable {
    /// The node's event counter: one more for every event, from 1 at start.
    var index: UInt64
    /// `member_joined`, `metadata_written`... (docs/api.md lists them).
    var type: String
    /// The entry a metadata event is about, for `prefix` filters.
    var address: MetadataAddress?
    /// `{"index":..,"type":..,"time":..,...}` without a newline.
    var line: [UInt8]

    /// `value` is a version's value text, put in the line as it is: JSON already, and
    /// parsing it to print it again cost every write as much as rendering its answer.
    init(
        index: UInt64, type: String, time: Instant, address: MetadataAddress?, fields: [String: JSONValue],
        value: String? = nil
    ) {
        self.index = index
        self.type = type
        self.address = address
        // Keys in the order of their bytes, as canonical JSON has them; written as bytes
        // (a `String` built per field cost each write a sixth of its instructions).
        enum Member {
            case json(JSONValue)
            case text(String)
            case index, type, time
        }
        var members = fields.map { ($0.key, Member.json($0.value)) }
        members.append(("index", .index))
        members.append(("type", .type))
        members.append(("time", .time))
        if let value { members.append(("value", .text(value))) }
        members.sort { JSONValue.precedes($0.0, $1.0) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(160 + (value?.utf8.count ?? 0))
        bytes.append(UInt8(ascii: "{"))
        for (i, (key, member)) in members.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            JSONValue.quote(key, into: &bytes)
            bytes.append(UInt8(ascii: ":"))
            switch member {
            case .json(let json): json.writeCanonical(to: &bytes)
            case .text(let text): bytes.append(contentsOf: text.utf8)
            case .index: bytes.append(contentsOf: String(index).utf8)
            case .type: JSONValue.quote(type, into: &bytes)
            case .time:
                bytes.append(UInt8(ascii: "\""))
                time.writeRFC3339(to: &bytes)
                bytes.append(UInt8(ascii: "\""))
            }
        }
        bytes.append(UInt8(ascii: "}"))
        line = bytes
    }

    /// An event whose line is rendered already (`metadataChange`).
    init(index: UInt64, type: String, address: MetadataAddress?, line: [UInt8]) {
        self.index = index
        self.type = type
        self.address = address
        self.line = line
    }

    /// Whether this is a member event (else a metadata or stream event).
    var isMemberEvent: Bool { type.hasPrefix("member_") }

    /// The member events, named as the engine's log records name them.
    static let memberTypes: Set<String> = [
        "member_joined", "member_rejoined", "member_refuted", "member_suspect", "member_failed", "member_left",
        "member_moved", "member_updated",
    ]

    /// The metadata events.
    static let metadataTypes: Set<String> = [
        "metadata_written", "metadata_deleted", "metadata_conflicted", "metadata_resolved",
    ]
}

/// Which events a stream wants: by type (a whole group, `member` or `metadata`, or
/// single types) and, for metadata events, by address prefix.
struct EventFilter: Sendable, Equatable {
    /// The types wanted; every type when nil.
    var types: Set<String>?
    /// Metadata events outside it are left out; member events are not affected.
    var prefix: String?

    /// Every event.
    init() {}

    /// The filter of `types=a,b` and `prefix=P`; a type that does not exist is a client
    /// error, so that a typo does not silently watch nothing.
    init(types text: String?, prefix: String?) throws(BadRequest) {
        self.prefix = prefix
        guard let text, !text.isEmpty else { return }
        var wanted: Set<String> = []
        for name in text.split(separator: ",").map({ String($0).trimmingSpaces }) where !name.isEmpty {
            switch name {
            case "member": wanted.formUnion(ClusterEvent.memberTypes)
            case "metadata": wanted.formUnion(ClusterEvent.metadataTypes)
            default:
                guard ClusterEvent.memberTypes.contains(name) || ClusterEvent.metadataTypes.contains(name) else {
                    throw BadRequest(
                        "types: '\(name)' is not an event type (member, metadata, or one of "
                            + (ClusterEvent.memberTypes.sorted() + ClusterEvent.metadataTypes.sorted()).joined(
                                separator: ", ") + ")")
                }
                wanted.insert(name)
            }
        }
        guard !wanted.isEmpty else { throw BadRequest("types names no event type") }
        types = wanted
    }

    func admits(_ event: ClusterEvent) -> Bool {
        if let types, !types.contains(event.type) { return false }
        if let prefix, let address = event.address, !address.rawValue.hasPrefix(prefix) { return false }
        return true
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
