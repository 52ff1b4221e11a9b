/// A structured log event from the engine; the host renders it (JSON lines in the node).
public struct LogRecord: Sendable, Equatable {
    /// Severity.
    public var level: LogLevel
    /// A stable machine-readable name, e.g. `member_failed`.
    public var event: String
    /// A sentence for people.
    public var message: String
    /// The event's own fields, in a stable order.
    public var fields: [LogField]

    /// Creates a log record.
    public init(level: LogLevel, event: String, message: String, fields: [LogField] = []) {
        self.level = level
        self.event = event
        self.message = message
        self.fields = fields
    }

    /// The value of field `key`, if present.
    public subscript(key: String) -> String? {
        fields.first(where: { $0.key == key })?.value
    }
}

/// One key and value of a log record.
public struct LogField: Sendable, Equatable {
    public var key: String
    public var value: String

    /// Creates a field.
    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}

/// Log severities, in increasing order.
public enum LogLevel: String, Sendable, Comparable, CaseIterable {
    case debug, info, notice, warning, error

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
