import Synchronization

/// The node's metrics and their Prometheus text exposition (format 0.0.4), in the order
/// they were registered.
///
/// The agent's own, in place of swift-prometheus: registering its 114 series there took
/// a third of the instructions an agent spent to start (each series formatted and
/// checked, each family's dictionary copied as it grew, a generic dictionary per label
/// set), and start-up is what a mass join waits on (docs/benchmarks.md, "Start-up").
/// Here a series is its value and the bytes that name it, written once.
final class MetricRegistry: Sendable {
    private enum Kind: String {
        case counter, gauge, histogram
    }

    private enum Value {
        case counter(Counter)
        case gauge(Gauge)
        case histogram(DurationHistogram)
    }

    private struct Series {
        var labels: [(String, String)]
        /// `name{labels} ` for counters and gauges; for a histogram its labels alone
        /// (`a="b"`), which each bucket, the sum and the count write around their own.
        var prefix: [UInt8]
        var value: Value
    }

    private struct Family {
        var name: String
        /// `# HELP` and `# TYPE` lines.
        var head: [UInt8]
        var kind: Kind
        var series: [Series] = []
    }

    private struct State {
        var families: [Family] = []
        var byName: [String: Int] = [:]
    }

    private let state = Mutex(State())

    /// An empty registry.
    init() {}

    func counter(name: String, labels: [(String, String)] = [], help: String) -> Counter {
        let value = series(name, .counter, labels, help) { .counter(Counter()) }
        guard case .counter(let counter) = value else { preconditionFailure("\(name) is not a counter") }
        return counter
    }

    func gauge(name: String, labels: [(String, String)] = [], help: String) -> Gauge {
        let value = series(name, .gauge, labels, help) { .gauge(Gauge()) }
        guard case .gauge(let gauge) = value else { preconditionFailure("\(name) is not a gauge") }
        return gauge
    }

    func durationHistogram(
        name: String, labels: [(String, String)] = [], buckets: [Duration], help: String
    ) -> DurationHistogram {
        let value = series(name, .histogram, labels, help) { .histogram(DurationHistogram(bounds: buckets)) }
        guard case .histogram(let histogram) = value else { preconditionFailure("\(name) is not a histogram") }
        return histogram
    }

    /// The series of `name` with `labels`, made by `make` when it is new. Names come
    /// from the catalogue, so a name of the wrong kind is a programming error.
    private func series(
        _ name: String, _ kind: Kind, _ labels: [(String, String)], _ help: String, _ make: () -> Value
    ) -> Value {
        state.withLock { state in
            let index: Int
            if let found = state.byName[name] {
                index = found
                precondition(state.families[index].kind == kind, "\(name) registered as two kinds")
                if let existing = state.families[index].series.first(where: { Self.same($0.labels, labels) }) {
                    return existing.value
                }
            } else {
                index = state.families.count
                state.byName[name] = index
                var head = Array("# HELP \(name) ".utf8)
                Self.escape(help, into: &head, quotes: false)
                head.append(contentsOf: "\n# TYPE \(name) \(kind.rawValue)\n".utf8)
                state.families.append(Family(name: name, head: head, kind: kind))
            }
            let value = make()
            var prefix: [UInt8] = []
            if kind == .histogram {
                Self.write(labels, into: &prefix)
            } else {
                prefix.append(contentsOf: name.utf8)
                if !labels.isEmpty {
                    prefix.append(UInt8(ascii: "{"))
                    Self.write(labels, into: &prefix)
                    prefix.append(UInt8(ascii: "}"))
                }
                prefix.append(UInt8(ascii: " "))
            }
            state.families[index].series.append(Series(labels: labels, prefix: prefix, value: value))
            return value
        }
    }

    /// The text exposition of every series.
    func render() -> [UInt8] {
        state.withLock { state in
            var text: [UInt8] = []
            text.reserveCapacity(16 * 1024)
            for family in state.families {
                text.append(contentsOf: family.head)
                for series in family.series {
                    switch series.value {
                    case .counter(let counter):
                        text.append(contentsOf: series.prefix)
                        counter.write(to: &text)
                    case .gauge(let gauge):
                        text.append(contentsOf: series.prefix)
                        text.append(contentsOf: Self.text(gauge.value).utf8)
                    case .histogram(let histogram):
                        Self.write(histogram, named: family.name, prefix: series.prefix, into: &text)
                        continue
                    }
                    text.append(UInt8(ascii: "\n"))
                }
            }
            return text
        }
    }

    private static func write(
        _ histogram: DurationHistogram, named name: String, prefix labels: [UInt8], into text: inout [UInt8]
    ) {
        let (cumulative, sum, count) = histogram.snapshot
        for (bound, total) in zip(histogram.boundTexts, cumulative) {
            text.append(contentsOf: name.utf8)
            text.append(contentsOf: "_bucket{".utf8)
            if !labels.isEmpty {
                text.append(contentsOf: labels)
                text.append(UInt8(ascii: ","))
            }
            text.append(contentsOf: "le=\"\(bound)\"} \(total)\n".utf8)
        }
        for (suffix, value) in [("_sum", Self.text(sum)), ("_count", String(count))] {
            text.append(contentsOf: name.utf8)
            text.append(contentsOf: suffix.utf8)
            if !labels.isEmpty {
                text.append(UInt8(ascii: "{"))
                text.append(contentsOf: labels)
                text.append(UInt8(ascii: "}"))
            }
            text.append(contentsOf: " \(value)\n".utf8)
        }
    }

    /// A value as the format spells it: Swift writes infinities and NaN as `inf` and
    /// `nan`, where Prometheus reads `+Inf`, `-Inf` and `NaN`.
    static func text(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        return value.description
    }

    private static func same(_ a: [(String, String)], _ b: [(String, String)]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    /// `name="value",...`, values escaped.
    private static func write(_ labels: [(String, String)], into text: inout [UInt8]) {
        for (index, (name, value)) in labels.enumerated() {
            if index > 0 { text.append(UInt8(ascii: ",")) }
            text.append(contentsOf: name.utf8)
            text.append(contentsOf: "=\"".utf8)
            escape(value, into: &text, quotes: true)
            text.append(UInt8(ascii: "\""))
        }
    }

    /// The exposition's escapes: a backslash and a line feed in help text; a double
    /// quote too in a label value.
    private static func escape(_ string: String, into text: inout [UInt8], quotes: Bool) {
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): text.append(contentsOf: "\\\\".utf8)
            case UInt8(ascii: "\n"): text.append(contentsOf: "\\n".utf8)
            case UInt8(ascii: "\"") where quotes: text.append(contentsOf: "\\\"".utf8)
            default: text.append(byte)
            }
        }
    }
}
