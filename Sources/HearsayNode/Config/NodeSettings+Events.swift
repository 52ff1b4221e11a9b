import HearsayCore

extension NodeSettings {
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
