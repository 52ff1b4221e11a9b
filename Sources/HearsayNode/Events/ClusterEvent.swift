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
        var members = fields.map { ($0.key, $0.value.canonicalText) }
        members.append(("index", "\(index)"))
        members.append(("type", JSONValue.string(type).canonicalText))
        members.append(("time", "\"" + time.rfc3339 + "\""))
        if let value { members.append(("value", value)) }
        // Keys in the order of their bytes, as canonical JSON has them.
        members.sort { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
        var text = "{"
        for (i, member) in members.enumerated() {
            if i > 0 { text += "," }
            text += JSONValue.string(member.0).canonicalText + ":" + member.1
        }
        text += "}"
        line = Array(text.utf8)
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
