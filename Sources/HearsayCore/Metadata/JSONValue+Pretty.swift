extension JSONValue {
    /// The value indented for people: two spaces a level, keys sorted as in the
    /// canonical text, empty arrays and objects on one line.
    public var prettyText: String {
        String(decoding: prettyBytes(), as: UTF8.self)
    }

    /// `prettyText` as UTF-8, with `suffix` after it: what an HTTP answer sends, written
    /// as bytes rather than copied out of a `String` (rendering answers was 7.9 % of the
    /// event loop at 64 durable-write clients, 6.8 % so).
    public func prettyBytes(suffix: String = "") -> [UInt8] {
        var out: [UInt8] = []
        // An entry's answer is about 400 bytes.
        out.reserveCapacity(512)
        writePretty(to: &out, indent: 0)
        out.append(contentsOf: suffix.utf8)
        return out
    }

    func writePretty(to out: inout [UInt8], indent: Int) {
        switch self {
        case .array(let items) where !items.isEmpty:
            out.append(contentsOf: "[\n".utf8)
            for (i, item) in items.enumerated() {
                Self.pad(&out, indent + 1)
                item.writePretty(to: &out, indent: indent + 1)
                out.append(contentsOf: (i == items.count - 1 ? "\n" : ",\n").utf8)
            }
            Self.pad(&out, indent)
            out.append(UInt8(ascii: "]"))
        case .object(let members) where !members.isEmpty:
            out.append(contentsOf: "{\n".utf8)
            let ordered = Self.ordered(members)
            for (i, member) in ordered.enumerated() {
                Self.pad(&out, indent + 1)
                Self.quote(member.key, into: &out)
                out.append(contentsOf: ": ".utf8)
                member.value.writePretty(to: &out, indent: indent + 1)
                out.append(contentsOf: (i == ordered.count - 1 ? "\n" : ",\n").utf8)
            }
            Self.pad(&out, indent)
            out.append(UInt8(ascii: "}"))
        default:
            // A scalar, or an empty array or object: the canonical spelling.
            if !writeScalar(to: &out) { writeCanonical(to: &out) }
        }
    }

    /// `spell(_:)` appended as bytes, an integer's digits written in place.
    static func spell(_ n: Double, into out: inout [UInt8]) {
        guard let whole = integral(n) else {
            out.append(contentsOf: n.description.utf8)
            return
        }
        if whole < 0 { out.append(UInt8(ascii: "-")) }
        var rest = whole.magnitude
        let start = out.count
        repeat {
            out.append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        } while rest > 0
        out[start...].reverse()
    }

    static func pad(_ out: inout [UInt8], _ levels: Int) {
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * levels))
    }

    /// `s` as a JSON string appended to `out`: quoted, with `"`, `\` and control
    /// characters escaped, everything else (UTF-8 beyond ASCII too) as it is.
    ///
    /// One pass over the string's buffer, copying the runs between escapes whole:
    /// walking `String.UTF8View` an index at a time, or a scalar at a time, cost several
    /// times as much, on every string of every answer and event line.
    package static func quote(_ s: String, into out: inout [UInt8]) {
        var text = s
        text.withUTF8 { bytes in
            out.append(UInt8(ascii: "\""))
            var run = 0
            for index in bytes.indices {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<index]))
                run = index + 1
                out.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(byte)
                case UInt8(ascii: "\n"): out.append(UInt8(ascii: "n"))
                case UInt8(ascii: "\r"): out.append(UInt8(ascii: "r"))
                case UInt8(ascii: "\t"): out.append(UInt8(ascii: "t"))
                case 0x08: out.append(UInt8(ascii: "b"))
                case 0x0C: out.append(UInt8(ascii: "f"))
                default:
                    out.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                    out.append(hexDigit(byte >> 4))
                    out.append(hexDigit(byte & 0xF))
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run...]))
            out.append(UInt8(ascii: "\""))
        }
    }

    /// The lowercase hexadecimal digit of `nibble` (0 to 15).
    static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
