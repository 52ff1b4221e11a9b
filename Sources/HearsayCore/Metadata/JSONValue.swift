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
        // Written as bytes (`writeCanonical`): every write spells its value this way to
        // store and checksum it, and building the text from `String`s cost a durable PUT
        // 12k instructions (docs/benchmarks.md).
        var out: [UInt8] = []
        writeCanonical(to: &out)
        return String(decoding: out, as: UTF8.self)
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

    /// `n` as an integer when it is one that a `Double` holds exactly (below 2^53), so it
    /// is spelled without a fraction.
    static func integral(_ n: Double) -> Int64? {
        n == n.rounded() && abs(n) < 9_007_199_254_740_992 ? Int64(n) : nil
    }
}

extension JSONValue: CustomStringConvertible {
    public var description: String { canonicalText }
}
