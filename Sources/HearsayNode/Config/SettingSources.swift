import HearsayCore

/// Where settings come from, in order of precedence: command-line flags, then
/// `HEARSAY_*` environment variables, then a JSON config file, then defaults.
///
/// Every source speaks the same names, so one table documents them all: the flag
/// `--gossip-interval`, the variable `HEARSAY_GOSSIP_INTERVAL` and the file key
/// `"gossip-interval"` are one setting.
package struct SettingSources: Sendable {
    /// Values given as flags, by setting name; list settings may repeat.
    package var flags: [String: [String]]
    /// The process environment (only `HEARSAY_*` names are read).
    package var environment: [String: String]
    /// The config file's settings, by name.
    package var file: [String: JSONValue]
    /// The config file's path, for messages.
    package var filePath: String?

    /// Creates sources; the file is read separately with `loadFile`.
    package init(flags: [String: [String]] = [:], environment: [String: String] = [:]) {
        self.flags = flags
        self.environment = environment
        self.file = [:]
    }

    /// List settings whose environment variable holds one item per line.
    static let listsByLine: Set<String> = ["event-handler", "tag"]

    /// The environment variable for a setting: `gossip-interval` is `HEARSAY_GOSSIP_INTERVAL`.
    package static func environmentName(_ setting: String) -> String {
        "HEARSAY_" + String(setting.uppercased().map { $0 == "-" ? "_" : $0 })
    }

    /// Reads the JSON config file at `path`: an object whose keys are setting names and
    /// whose values have each setting's JSON type (`NodeSettings.Definition.Kind`).
    /// Unknown keys and values of another type are refused, so a misspelt setting is not
    /// silently ignored, nor `{"gossip-interval": 5}` read in a unit it does not name.
    package mutating func loadFile(_ path: String, definitions: [NodeSettings.Definition]) throws(ValidationError) {
        let bytes: [UInt8]
        do {
            bytes = try FileIO.read(path, limit: 1024 * 1024)
        } catch {
            throw ValidationError(setting: "config", value: path, allowed: "a readable file (\(error.reason))")
        }
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes: bytes)
        } catch {
            throw ValidationError(setting: "config", value: path, allowed: "a JSON object (\(error))")
        }
        guard case .object(let fields) = document else {
            throw ValidationError(setting: "config", value: path, allowed: "a JSON object of settings")
        }
        let kinds = Dictionary(definitions.map { ($0.name, $0.kind) }, uniquingKeysWith: { first, _ in first })
        for key in fields.keys.sorted() {
            guard let kind = kinds[key] else {
                throw ValidationError(
                    setting: "config", value: "\(path): \(key)",
                    allowed: "the settings " + kinds.keys.sorted().joined(separator: ", "))
            }
            if let allowed = Self.typeMismatch(fields[key]!, kind) {
                throw ValidationError(setting: "\(path): \(key)", value: fields[key]!.canonicalText, allowed: allowed)
            }
        }
        file = fields
        filePath = path
    }

    /// What a file value of the wrong JSON type for `kind` should have been; nil when it
    /// has the right type.
    private static func typeMismatch(_ value: JSONValue, _ kind: NodeSettings.Definition.Kind) -> String? {
        switch (kind, value) {
        case (_, .string), (.integer, .number), (.boolean, .bool), (.list, .array): return nil
        case (.text, _): return "a string"
        case (.integer, _): return "a whole number"
        case (.duration, _): return "a duration as a string with its unit, such as \"10s\" or \"500ms\""
        case (.boolean, _): return "true or false"
        case (.list, _): return "an array of strings, or one string"
        }
    }

    /// The raw values of `setting` from the first source that has it, with a label of
    /// that source for error messages; nil when no source sets it.
    package func values(_ setting: String) throws(ValidationError) -> (values: [String], origin: String)? {
        if let given = flags[setting], !given.isEmpty {
            return (given, "--\(setting)")
        }
        let variable = Self.environmentName(setting)
        if let text = environment[variable] {
            // Lists come comma-separated from the environment, but for the ones whose
            // items may hold commas, which come one per line.
            let separator: Character = Self.listsByLine.contains(setting) ? "\n" : ","
            let parts = text.split(separator: separator, omittingEmptySubsequences: true).map {
                String($0).trimmingSpaces
            }
            return (parts.isEmpty ? [""] : parts, variable)
        }
        if let value = file[setting] {
            let origin = "\(filePath ?? "config file"): \(setting)"
            switch value {
            case .string(let text): return ([text], origin)
            case .bool(let flag): return ([flag ? "true" : "false"], origin)
            case .number: return ([value.canonicalText], origin)
            case .array(let items):
                var texts: [String] = []
                for item in items {
                    guard case .string(let text) = item else {
                        throw ValidationError(setting: origin, value: item.canonicalText, allowed: "strings")
                    }
                    texts.append(text)
                }
                return (texts, origin)
            case .null, .object:
                throw ValidationError(
                    setting: origin, value: value.canonicalText, allowed: "a string, number, boolean or list")
            }
        }
        return nil
    }
}
