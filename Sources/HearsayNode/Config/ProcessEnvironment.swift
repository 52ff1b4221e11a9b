#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reading the process environment without Foundation.
package enum ProcessEnvironment {
    /// The value of `name`, if set.
    package static func value(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// The `HEARSAY_*` variable of every setting in `NodeSettings.definitions` that is set.
    package static func settings() -> [String: String] {
        var found: [String: String] = [:]
        for definition in NodeSettings.definitions {
            let name = SettingSources.environmentName(definition.name)
            if let text = value(name) { found[name] = text }
        }
        return found
    }
}

extension ProcessEnvironment {
    /// `HEARSAY_*` variables of this process that name no setting: a misspelt setting
    /// would otherwise be ignored without a word. Read from /proc (empty elsewhere).
    package static func unknownSettingVariables() -> [String] {
        guard let bytes = try? FileIO.read("/proc/self/environ", limit: 1024 * 1024) else { return [] }
        let known =
            Set(NodeSettings.definitions.map { SettingSources.environmentName($0.name) })
            // The config file's path, and the client commands' address.
            .union(["HEARSAY_CONFIG", "HEARSAY_HTTP_ADDR"])
        return bytes.split(separator: 0).compactMap { entry -> String? in
            let name = String(decoding: entry.prefix { $0 != UInt8(ascii: "=") }, as: UTF8.self)
            return name.hasPrefix("HEARSAY_") && !known.contains(name) ? name : nil
        }.sorted()
    }
}

extension NodeSettings {
    /// The help text of setting `name` with its default, for `--help`.
    package static func help(_ name: String) -> String {
        guard let definition = definitions.first(where: { $0.name == name }) else { return name }
        return "\(definition.help) (default: \(definition.defaultText); env \(SettingSources.environmentName(name)))"
    }
}
