import HearsayCore

extension NodeSettings {
    /// `tag`, for `definitions`.
    static let tagDefinitions: [Definition] = [
        .init(
            name: "tag",
            help:
                "KEY=VALUE this node announces to the cluster (repeatable; env: one per line); wins over tags.json "
                + "in the data directory at start",
            defaultText: "none", kind: .list)
    ]

    /// `tag`: `KEY=VALUE` items, split at the first `=` (a value may hold more).
    mutating func resolveTags(_ reader: SettingReader) throws(ValidationError) {
        guard let list = try reader.sources.values("tag") else { return }
        var pairs: [String: String] = [:]
        for item in list.values where !item.isEmpty {
            guard let equals = item.firstIndex(of: "=") else {
                throw ValidationError(setting: list.origin, value: item, allowed: "KEY=VALUE")
            }
            let key = String(item[..<equals])
            guard pairs[key] == nil else {
                throw ValidationError(
                    setting: list.origin, value: item, allowed: "each key once (\(key) is given twice)")
            }
            pairs[key] = String(item[item.index(after: equals)...])
        }
        do {
            tags = try MemberTags(pairs)
        } catch {
            throw ValidationError(
                setting: list.origin, value: error.value, allowed: "\(error.setting): \(error.allowed)")
        }
    }
}
