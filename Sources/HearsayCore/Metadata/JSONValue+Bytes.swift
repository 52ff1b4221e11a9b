extension JSONValue {
    /// `canonicalText`'s UTF-8 appended to `out`, written as bytes: the node renders
    /// an event line for every write, and building it from `String`s cost a durable PUT
    /// a sixth of its instructions (docs/benchmarks.md).
    package func writeCanonical(to out: inout [UInt8]) {
        guard !writeScalar(to: &out) else { return }
        switch self {
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.writeCanonical(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, member) in Self.ordered(members).enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.quote(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                member.value.writeCanonical(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .null, .bool, .number, .string:
            break
        }
    }

    /// A scalar's spelling, the same in canonical and pretty text, appended to `out`;
    /// false, with nothing written, for an array or an object.
    func writeScalar(to out: inout [UInt8]) -> Bool {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n): Self.spell(n, into: &out)
        case .string(let s): Self.quote(s, into: &out)
        case .array, .object: return false
        }
        return true
    }
}
