/// The API's answer to a write, rendered straight from the version.
///
/// Fast path: every acknowledged write is answered with its version, and at thousands
/// of writes a second building `json` (a dictionary of eleven fields, its keys sorted at
/// every render, and the value parsed back from its text) was a tenth of the event
/// loop. This writes the same bytes as `json.prettyBytes(suffix:)` (a test holds the two
/// equal) with the fields in their sorted order, spelled once here.
extension ContextMetadata {
    /// `json.prettyBytes(suffix:)`, with `value` standing for the version's value when
    /// the caller holds it parsed already (a local write): its text is then not parsed.
    public func prettyBytes(value known: JSONValue? = nil, suffix: String = "") -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(320 + size)
        out.append(contentsOf: "{\n  \"address\": ".utf8)
        JSONValue.quote(address.rawValue, into: &out)
        out.append(contentsOf: ",\n  \"checksum\": ".utf8)
        out.append(UInt8(ascii: "\""))
        writeChecksum(to: &out)
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: ",\n  \"last_updated\": \"".utf8)
        lastUpdated.writeRFC3339(to: &out)
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: ",\n  \"replication_nodes\": ".utf8)
        Self.writeStrings(replicationNodes, to: &out)
        out.append(contentsOf: ",\n  \"roles\": ".utf8)
        Self.writeStrings(roles, to: &out)
        out.append(contentsOf: ",\n  \"size\": ".utf8)
        JSONValue.number(Double(size)).writePretty(to: &out, indent: 1)
        out.append(contentsOf: ",\n  \"status\": ".utf8)
        JSONValue.quote(status.rawValue, into: &out)
        out.append(contentsOf: ",\n  \"updated_by\": ".utf8)
        JSONValue.quote(updatedBy.rawValue, into: &out)
        out.append(contentsOf: ",\n  \"value\": ".utf8)
        (known ?? value ?? .null).writePretty(to: &out, indent: 1)
        out.append(contentsOf: ",\n  \"vector_clock\": ".utf8)
        writeClock(to: &out)
        out.append(contentsOf: ",\n  \"version\": ".utf8)
        JSONValue.number(Double(version)).writePretty(to: &out, indent: 1)
        out.append(contentsOf: "\n}".utf8)
        out.append(contentsOf: suffix.utf8)
        return out
    }

    private static func writeStrings(_ items: [String], to out: inout [UInt8]) {
        guard !items.isEmpty else {
            out.append(contentsOf: "[]".utf8)
            return
        }
        out.append(contentsOf: "[\n".utf8)
        for (i, item) in items.enumerated() {
            JSONValue.pad(&out, 2)
            JSONValue.quote(item, into: &out)
            out.append(contentsOf: (i == items.count - 1 ? "\n" : ",\n").utf8)
        }
        out.append(contentsOf: "  ]".utf8)
    }

    /// The clock as an object keyed by writer, keys in the order of their bytes.
    private func writeClock(to out: inout [UInt8]) {
        let entries = vectorClock.entries
        guard !entries.isEmpty else {
            out.append(contentsOf: "{}".utf8)
            return
        }
        let sorted =
            entries.count == 1
            ? entries : entries.sorted { JSONValue.precedes($0.node.rawValue, $1.node.rawValue) }
        out.append(contentsOf: "{\n".utf8)
        for (i, entry) in sorted.enumerated() {
            JSONValue.pad(&out, 2)
            JSONValue.quote(entry.node.rawValue, into: &out)
            out.append(contentsOf: ": ".utf8)
            JSONValue.number(Double(entry.counter)).writePretty(to: &out, indent: 2)
            out.append(contentsOf: (i == sorted.count - 1 ? "\n" : ",\n").utf8)
        }
        out.append(contentsOf: "  }".utf8)
    }
}
