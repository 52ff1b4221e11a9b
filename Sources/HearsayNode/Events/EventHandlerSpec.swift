import HearsayCore

/// One `--event-handler [FILTER=]COMMAND`: the shell command an agent runs for each event
/// its filter admits (every event without one).
///
/// `FILTER` is a comma-separated list of event types, the groups `member` and
/// `metadata`, and at most one `prefix:P` that limits metadata events to addresses that
/// start with `P`: `member_failed,member_left=./page.sh`,
/// `metadata,prefix:config/=./reload.sh`. Text before the first `=` that is not such a
/// list belongs to the command, so `LEVEL=2 ./notify.sh` is a command with no filter.
package struct EventHandlerSpec: Sendable, Equatable, CustomStringConvertible {
    /// The events it runs for.
    let filter: EventFilter
    /// Run by `/bin/sh -c`.
    package let command: String
    /// The filter as it was written; empty for none.
    package let filterText: String

    /// Reads `text`, naming `origin` (the flag, variable or file key) in errors.
    package init(parsing text: String, origin: String = "event-handler") throws(ValidationError) {
        if let equals = text.firstIndex(of: "="), let filter = Self.filter(String(text[..<equals])) {
            self.filter = filter
            self.filterText = String(text[..<equals])
            self.command = String(text[text.index(after: equals)...])
        } else {
            self.filter = EventFilter()
            self.filterText = ""
            self.command = text
        }
        guard command.contains(where: { $0 != " " && $0 != "\t" }) else {
            throw ValidationError(
                setting: origin, value: text,
                allowed: "[FILTER=]COMMAND with a command to run (FILTER: event types, member, metadata, prefix:P)")
        }
        guard !command.utf8.contains(0) else {
            throw ValidationError(setting: origin, value: text, allowed: "a command without NUL bytes")
        }
    }

    /// The filter `text` spells, or nil when it is not a filter (it is part of the command).
    private static func filter(_ text: String) -> EventFilter? {
        var types: [String] = []
        var prefix: String?
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            if item.hasPrefix("prefix:") {
                guard prefix == nil else { return nil }
                prefix = String(item.dropFirst("prefix:".count))
            } else {
                types.append(String(item))
            }
        }
        // `EventFilter` refuses a type that does not exist: here that means "not a filter".
        let filter = try? EventFilter(types: types.isEmpty ? nil : types.joined(separator: ","), prefix: prefix)
        guard let filter, types.allSatisfy({ !$0.isEmpty }) else { return nil }
        return filter
    }

    package var description: String { filterText.isEmpty ? command : "\(filterText)=\(command)" }
}
