import HearsayCore
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A swift-log handler that writes one line per event to standard output: a JSON object
/// (`ts`, `level`, `logger`, `msg`, `node`, then the event's fields in key order) for
/// log pipelines, or aligned text for people.
package struct LineLogHandler: LogHandler {
    /// The logger's label (`logger` in JSON).
    package let label: String
    /// JSON or text.
    package let format: LogFormat
    package var logLevel: Logger.Level
    package var metadata: Logger.Metadata = [:]
    package var metadataProvider: Logger.MetadataProvider?
    private let output: @Sendable (String) -> Void

    /// A handler writing to `output` (standard output by default).
    package init(
        label: String, format: LogFormat, level: Logger.Level,
        output: @escaping @Sendable (String) -> Void = LineLogHandler.standardOutput
    ) {
        self.label = label
        self.format = format
        self.logLevel = level
        self.output = output
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { _, new in new } }
        if let own = event.metadata { fields.merge(own) { _, new in new } }
        let node = fields.removeValue(forKey: "node")
        let ts = SystemClock.wall().rfc3339
        switch format {
        case .json:
            var line = "{\"ts\":\"\(ts)\",\"level\":\"\(event.level.rawValue)\",\"logger\":"
            line += JSONValue.string(label).canonicalText
            line += ",\"msg\":" + JSONValue.string(event.message.description).canonicalText
            if let node { line += ",\"node\":" + JSONValue.string(node.description).canonicalText }
            for key in fields.keys.sorted() {
                line += "," + JSONValue.string(key).canonicalText + ":" + Self.json(fields[key]!).canonicalText
            }
            output(line + "}\n")
        case .text:
            var line = "\(ts) \(event.level.rawValue.uppercased().padding(8))"
            if let node { line += "[\(node)] " }
            line += event.message.description
            for key in fields.keys.sorted() { line += " \(key)=" + Self.text(fields[key]!) }
            output(line + "\n")
        }
    }

    /// A value for a text line: bare when it is one word of printable ASCII, else quoted
    /// with JSON's escapes, so that a value with spaces, `=` or a newline (a tag, an
    /// error's text) can neither look like more fields nor start another line.
    static func text(_ value: Logger.MetadataValue) -> String {
        let text = value.description
        let bare =
            !text.isEmpty
            && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "=") }
        return bare ? text : JSONValue.string(text).canonicalText
    }

    private static func json(_ value: Logger.MetadataValue) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let item): .string(item.description)
        case .array(let items): .array(items.map(json))
        case .dictionary(let entries): .object(entries.mapValues(json))
        }
    }

    /// Writes a line to file descriptor 1 in one `write`, so lines from several threads
    /// never interleave.
    package static let standardOutput: @Sendable (String) -> Void = { line in
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress, $0.count) }
    }
}

extension Logger.Level {
    /// The swift-log level for an engine log level.
    package init(_ level: LogLevel) {
        switch level {
        case .debug: self = .debug
        case .info: self = .info
        case .notice: self = .notice
        case .warning: self = .warning
        case .error: self = .error
        }
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
