#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reading the process environment without Foundation.
public enum ProcessEnvironment {
    /// The value of `name`, if set.
    public static func value(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// The `HEARSAY_*` variable of every setting in `NodeSettings.definitions` that is set.
    public static func settings() -> [String: String] {
        var found: [String: String] = [:]
        for definition in NodeSettings.definitions {
            let name = SettingSources.environmentName(definition.name)
            if let text = value(name) { found[name] = text }
        }
        return found
    }
}

extension NodeSettings {
    /// The help text of setting `name` with its default, for `--help`.
    public static func help(_ name: String) -> String {
        guard let definition = definitions.first(where: { $0.name == name }) else { return name }
        return "\(definition.help) (default: \(definition.defaultText); env \(SettingSources.environmentName(name)))"
    }
}
