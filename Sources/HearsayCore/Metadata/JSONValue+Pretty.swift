extension JSONValue {
    /// The value indented for people: two spaces a level, keys sorted as in the
    /// canonical text, empty arrays and objects on one line.
    public var prettyText: String {
        var out = ""
        // An entry's answer is about 400 bytes: grown from empty, the string was copied
        // into a larger buffer five or six times on the way.
        out.reserveCapacity(512)
        writePretty(to: &out, indent: 0)
        return out
    }

    // Indentation is written space by space into `out` rather than built as strings for
    // every value: an answer's rendering showed up in the durable-write profile.
    private func writePretty(to out: inout String, indent: Int) {
        switch self {
        case .array(let items) where !items.isEmpty:
            out += "[\n"
            for (i, item) in items.enumerated() {
                Self.pad(&out, indent + 1)
                item.writePretty(to: &out, indent: indent + 1)
                out += i == items.count - 1 ? "\n" : ",\n"
            }
            Self.pad(&out, indent)
            out += "]"
        case .object(let members) where !members.isEmpty:
            out += "{\n"
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (i, key) in keys.enumerated() {
                Self.pad(&out, indent + 1)
                JSONValue.quote(key, into: &out)
                out += ": "
                members[key]!.writePretty(to: &out, indent: indent + 1)
                out += i == keys.count - 1 ? "\n" : ",\n"
            }
            Self.pad(&out, indent)
            out += "}"
        default:
            write(to: &out)
        }
    }

    private static func pad(_ out: inout String, _ levels: Int) {
        for _ in 0..<levels { out += "  " }
    }
}
