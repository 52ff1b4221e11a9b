/// `hearsay agent`'s command line read straight into setting flags, without
/// ArgumentParser, when it holds nothing but settings.
///
/// ArgumentParser builds each command's option table at run time, through reflection and
/// generic metadata it instantiates by mangled name; for the agent's forty options that
/// was 29 of the 46 million instructions (callgrind) from exec to a listening agent, about
/// 6 ms of CPU, and start-up is what a cluster started (or restarted) at once waits for:
/// 64 agents started together spent 0.2 s more than serf's doing it (`make bench-serf`,
/// join row). This reads the common case, `--setting value` and `--setting=value` for the
/// settings `NodeSettings.definitions` lists (and `--config`), and gives up on anything
/// else (`--help`, an unknown flag, a value that looks like a flag, a setting given twice
/// that is not a list), which the full parser then reads and reports as before.
package enum SettingFlags {
    /// The flags by setting name, with `config` apart; nil when `arguments` holds anything
    /// but settings.
    package static func parse(
        _ arguments: [String], definitions: [NodeSettings.Definition] = NodeSettings.definitions
    ) -> (config: String?, flags: [String: [String]])? {
        var config: String?
        var flags: [String: [String]] = [:]
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            guard argument.hasPrefix("--"), argument.count > 2 else { return nil }
            var name = Substring(argument.dropFirst(2))
            let value: String
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = name[..<equals]
            } else {
                index += 1
                guard index < arguments.endIndex, !arguments[index].hasPrefix("-") else { return nil }
                value = arguments[index]
            }
            index += 1
            let setting = String(name)
            if setting == "config" {
                guard config == nil else { return nil }
                config = value
                continue
            }
            guard let definition = definitions.first(where: { $0.name == setting }) else { return nil }
            if definition.kind != .list, flags[setting] != nil { return nil }
            flags[setting, default: []].append(value)
        }
        return (config, flags)
    }
}
