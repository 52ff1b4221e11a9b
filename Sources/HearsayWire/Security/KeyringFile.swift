import HearsayCore

/// The keyring file: a JSON array of base64 keys, primary first, as serf writes it, e.g.
/// `["K1...=", "K2...="]`.
extension Keyring {
    /// Reads a keyring file's text. Errors name the problem and, for a bad key, its position.
    package init(fileText: String) throws(KeyringError) {
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
            if let first = keys.firstIndex(of: key) { throw .duplicateKey(index: index, first: first) }
            keys.append(key)
        }
        try self.init(primary: keys[0], others: Array(keys.dropFirst()))
    }

    /// The keyring as file text, one key per line, primary first; `init(fileText:)` reads it back.
    package var fileText: String {
        "[\n" + keys.map { "  \"\(Base64.encode($0))\"" }.joined(separator: ",\n") + "\n]\n"
    }
}

/// Reads exactly one JSON array of strings, which is all a keyring file may hold.
private enum StringArrayParser {
    static func parse(_ text: String) throws(KeyringError) -> [String] {
        let document: JSONValue
        do {
            document = try JSONValue.parse(text)
        } catch {
            throw .malformedFile(error.description)
        }
        guard case .array(let items) = document else {
            throw .malformedFile("expected a JSON array of base64 strings")
        }
        var strings: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else {
                throw .malformedFile("item \(index) is not a string")
            }
            strings.append(text)
        }
        return strings
    }
}
