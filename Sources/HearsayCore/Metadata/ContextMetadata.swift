/// One version of a metadata entry: the Go original's `ContextMetadata` plus an optional JSON value.
///
/// A version is immutable once written: `checksum` covers every field, so a version
/// that was altered on the way (or by a bug) is refused by `MetadataStore.apply`.
public struct ContextMetadata: Hashable, Sendable {
    /// Which entry this is a version of.
    public var address: MetadataAddress
    /// When it was written, by the writer's clock, to the millisecond (the wire's unit).
    /// Informational: merges follow `vectorClock`, never wall time.
    public var lastUpdated: Instant
    /// The node that wrote it.
    public var updatedBy: NodeID
    /// The Go original's roles that may use the context.
    public var roles: [String]
    /// The Go original's replication nodes.
    public var replicationNodes: [String]
    /// The writes this version has seen.
    public var vectorClock: VectorClock
    /// `active`, `deprecated` or `deleted`.
    public var status: MetadataStatus
    /// The entry's value; nil for a tombstone or an entry that carries only the Go original's
    /// fields. Parsed from `valueText` on each read; setting it stores its canonical text.
    public var value: JSONValue? {
        get { valueText.flatMap { try? JSONValue.parse($0) } }
        set { valueText = newValue?.canonicalText }
    }
    /// The value as it is stored and travels: JSON text, canonical as the writer spelled
    /// it. Versions are kept as text so that relaying one never re-serializes it, and a
    /// received copy of a version already held (most of gossip) is never parsed.
    public private(set) var valueText: String?
    /// Bytes of the value's text (the Go original's `size`).
    public var size: Int { valueText?.utf8.count ?? 0 }
    /// FNV-1a-based 64-bit hash of every other field, fixed when written.
    public var checksum: UInt64

    /// The Go original's single version number: the total of the vector clock, which grows
    /// with every write.
    public var version: UInt64 { vectorClock.sum }

    /// The checksum as the Go original's string field: `fnv1a64:` and 16 hex digits.
    public var checksumText: String {
        var out: [UInt8] = []
        writeChecksum(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `checksumText`'s bytes appended to `out`: every PUT's answer carries it.
    package func writeChecksum(to out: inout [UInt8]) {
        out.append(contentsOf: "fnv1a64:".utf8)
        for shift in stride(from: 60, through: 0, by: -4) {
            out.append(JSONValue.hexDigit(UInt8(truncatingIfNeeded: checksum >> UInt64(shift)) & 0xF))
        }
    }

    /// Whether `checksum` matches the content (the value's text included, so its size too).
    public var hasValidChecksum: Bool {
        checksum == computeChecksum(valueText: valueText)
    }

    /// Encoded length (see `docs/wire.md`): address, last updated (ms), writer, roles,
    /// replication nodes, clock, status byte, 8-byte checksum, optional value text.
    package var wireSize: Int {
        WireSize.string(address.rawValue) + WireSize.zigzag(lastUpdated.milliseconds)
            + WireSize.string(updatedBy.rawValue) + WireSize.strings(roles)
            + WireSize.strings(replicationNodes)
            + vectorClock.wireSize + 1 + 8 + (valueText == nil ? 1 : 1 + WireSize.varint(size) + size)
    }

    private func computeChecksum(valueText: String?) -> UInt64 {
        var h = StableHash()
        h.combine(address.rawValue)
        h.combine(UInt64(bitPattern: lastUpdated.milliseconds))
        h.combine(updatedBy.rawValue)
        h.combine(UInt64(roles.count))
        for role in roles { h.combine(role) }
        h.combine(UInt64(replicationNodes.count))
        for node in replicationNodes { h.combine(node) }
        vectorClock.hash(into: &h)
        h.combine(UInt64(status.wireCode))
        if let valueText {
            h.combine(1)
            h.combine(valueText)
        } else {
            h.combine(0)
        }
        return h.finalize()
    }
}

// The initializers are in an extension so that the struct keeps its implicit memberwise
// initializer (private, as `valueText` is), which the decoded version is built with.
extension ContextMetadata {
    /// Creates a version and computes its checksum.
    public init(
        address: MetadataAddress, value: JSONValue?, status: MetadataStatus, roles: [String] = [],
        replicationNodes: [String] = [], vectorClock: VectorClock, updatedBy: NodeID,
        lastUpdated: Instant
    ) {
        self.address = address
        self.status = status
        self.roles = roles
        self.replicationNodes = replicationNodes
        self.vectorClock = vectorClock
        self.updatedBy = updatedBy
        self.lastUpdated = Instant(nanoseconds: lastUpdated.milliseconds * 1_000_000)
        let text = value?.canonicalText
        self.valueText = text
        self.checksum = 0
        self.checksum = computeChecksum(valueText: text)
    }

    /// Creates a version exactly as decoded, keeping the value text and checksum it
    /// carried; `hasValidChecksum` tells whether they match.
    public init(
        decodedAddress address: MetadataAddress, valueText: String?, status: MetadataStatus,
        roles: [String], replicationNodes: [String], vectorClock: VectorClock, updatedBy: NodeID,
        lastUpdated: Instant, checksum: UInt64
    ) {
        // The implicit memberwise initializer builds the value in one piece; assigning
        // the fields one by one built it in a temporary and copied that out (a retain and
        // a release of every field, for every version decoded).
        self.init(
            address: address, lastUpdated: lastUpdated, updatedBy: updatedBy, roles: roles,
            replicationNodes: replicationNodes, vectorClock: vectorClock, status: status, valueText: valueText,
            checksum: checksum)
    }
}
