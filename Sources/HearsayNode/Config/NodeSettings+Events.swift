import HearsayCore

extension NodeSettings {
    /// `event-handler` and `event-handler-timeout`, for `definitions`.
    static let eventDefinitions: [Definition] = [
        .init(
            name: "event-handler",
            help:
                "[FILTER=]COMMAND run by /bin/sh for each event, the event as JSON on stdin (repeatable; FILTER: "
                + "event types, member, metadata, prefix:P, comma-separated; env: one per line)",
            defaultText: "none", kind: .list),
        .init(
            name: "event-handler-timeout", help: "longest run of an event handler before it is killed, 100ms to 1h",
            defaultText: "30s", kind: .duration),
    ]

    /// `event-handler` and `event-handler-timeout`.
    mutating func resolveEventHandlers(_ reader: SettingReader) throws(ValidationError) {
        if let list = try reader.sources.values("event-handler") {
            eventHandlers = try list.values.map { text throws(ValidationError) in
                try EventHandlerSpec(parsing: text, origin: list.origin)
            }
        }
        if let v = try reader.single("event-handler-timeout") {
            eventHandlerTimeout = try reader.duration(v, within: .milliseconds(100)...(.seconds(3600)), "100ms to 1h")
        }
    }
}
