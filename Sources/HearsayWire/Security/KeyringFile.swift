/// The keyring file: a JSON array of base64 keys, primary first, as serf writes it, e.g.
/// `["K1...=", "K2...="]`.
extension Keyring {
    /// Reads a keyring file's text. Errors name the problem and, for a bad key, its position.
    public init(fileText: String) throws(KeyringError) {
        let texts = try StringArrayParser.parse(fileText)
        guard !texts.isEmpty else { throw .empty }
        var keys: [[UInt8]] = []
        for (index, text) in texts.enumerated() {
            let key: [UInt8]
            do {
                key = try Base64.decode(text)
            } catch {
                throw .badBase64(index: index, problem: error)
            }
            try Self.checkLength(key, index: index)
            keys.append(key)
        }
        try self.init(primary: keys[0], others: Array(keys.dropFirst()))
    }

    /// The keyring as file text, one key per line, primary first; `init(fileText:)` reads it back.
    public var fileText: String {
        "[\n" + keys.map { "  \"\(Base64.encode($0))\"" }.joined(separator: ",\n") + "\n]\n"
    }
}

/// Parses exactly one JSON array of strings, which is all a keyring file may hold; a
/// general JSON parser would accept shapes the file must not have.
private struct StringArrayParser {
    private let bytes: [UInt8]
    private var position = 0

    static func parse(_ text: String) throws(KeyringError) -> [String] {
        var parser = StringArrayParser(bytes: Array(text.utf8))
        return try parser.parseDocument()
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private mutating func parseDocument() throws(KeyringError) -> [String] {
        skipWhitespace()
        try expect(UInt8(ascii: "["), "'['")
        var strings: [String] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            position += 1
        } else {
            while true {
                skipWhitespace()
                strings.append(try parseString())
                skipWhitespace()
                if peek() == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                try expect(UInt8(ascii: "]"), "',' or ']'")
                break
            }
        }
        skipWhitespace()
        guard position == bytes.count else { throw .malformedFile("unexpected text after ']' at offset \(position)") }
        return strings
    }

    private mutating func parseString() throws(KeyringError) -> String {
        try expect(UInt8(ascii: "\""), "a string")
        var utf8: [UInt8] = []
        while true {
            guard let byte = peek() else { throw .malformedFile("unterminated string") }
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                utf8.append(contentsOf: String(try parseEscape()).utf8)
            case 0..<0x20:
                throw .malformedFile("control character in a string at offset \(position - 1)")
            default:
                utf8.append(byte)
            }
        }
    }

    private mutating func parseEscape() throws(KeyringError) -> Unicode.Scalar {
        guard let byte = peek() else { throw .malformedFile("unterminated escape") }
        position += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            guard position + 4 <= bytes.count,
                let value = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16),
                let scalar = Unicode.Scalar(value)
            else {
                // Surrogate pairs cannot occur in base64 text, so they are refused with the rest.
                throw .malformedFile("bad \\u escape at offset \(position - 2)")
            }
            position += 4
            return scalar
        default:
            throw .malformedFile("unknown escape '\\\(Unicode.Scalar(byte))' at offset \(position - 2)")
        }
    }

    private func peek() -> UInt8? {
        position < bytes.count ? bytes[position] : nil
    }

    private mutating func expect(_ byte: UInt8, _ expected: String) throws(KeyringError) {
        guard peek() == byte else { throw .malformedFile("expected \(expected) at offset \(position)") }
        position += 1
    }

    private mutating func skipWhitespace() {
        while let byte = peek(),
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
                || byte == UInt8(ascii: "\t")
        {
            position += 1
        }
    }
}
