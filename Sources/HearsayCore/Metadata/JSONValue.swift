/// A JSON document: the optional value of a metadata entry.
///
/// The core holds values as this tree rather than as text so that two nodes that
/// received the same value in different spellings (key order, spacing, `1.0` or `1`)
/// store, hash and compare it the same: `canonicalText` is the one spelling.
public indirect enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The canonical spelling: no spaces, object keys sorted by their UTF-8 bytes,
    /// integral numbers below 2^53 without a fraction, other numbers in the shortest
    /// form that reads back to the same `Double`.
    public var canonicalText: String {
        var out = ""
        write(to: &out)
        return out
    }

    /// Whether every number is finite: JSON has no NaN or infinity.
    public var isFinite: Bool {
        switch self {
        case .null, .bool, .string: true
        case .number(let n): n.isFinite
        case .array(let items): items.allSatisfy(\.isFinite)
        case .object(let members): members.values.allSatisfy(\.isFinite)
        }
    }

    /// How deeply arrays and objects nest; a scalar is 0.
    public var depth: Int {
        switch self {
        case .null, .bool, .number, .string: 0
        case .array(let items): 1 + (items.map(\.depth).max() ?? 0)
        case .object(let members): 1 + (members.values.map(\.depth).max() ?? 0)
        }
    }

    func write(to out: inout String) {
        switch self {
        case .null:
            out += "null"
        case .bool(let b):
            out += b ? "true" : "false"
        case .number(let n):
            out += Self.spell(n)
        case .string(let s):
            Self.quote(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (i, key) in keys.enumerated() {
                if i > 0 { out += "," }
                Self.quote(key, into: &out)
                out += ":"
                members[key]!.write(to: &out)
            }
            out += "}"
        }
    }

    static func spell(_ n: Double) -> String {
        integral(n).map { String($0) } ?? n.description
    }

    /// `n` as an integer when it is one that a `Double` holds exactly (below 2^53), so it
    /// is spelled without a fraction.
    static func integral(_ n: Double) -> Int64? {
        n == n.rounded() && abs(n) < 9_007_199_254_740_992 ? Int64(n) : nil
    }

    static func quote(_ s: String, into out: inout String) {
        out += "\""
        // The fast path: most strings (names, addresses, values) need no escape and go in
        // whole, where a scalar at a time made quoting most of an API answer's cost.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out += s
            out += "\""
            return
        }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

extension JSONValue: CustomStringConvertible {
    public var description: String { canonicalText }
}
