import Prometheus

/// Metrics registered by their whole names, as the catalogue (`docs/metrics.md`) spells
/// them. swift-prometheus 2.4 takes a name as a `MetricNameDescriptor` of parts that it
/// joins with underscores; the last part of a catalogue name is its unit (`total`,
/// `seconds`, `bytes`...), so the name is cut there and joined back the same.
extension PrometheusCollectorRegistry {
    func counter(name: String, labels: [(String, String)] = [], help: String) -> Counter {
        makeCounter(descriptor: .whole(name, help), labels: labels)
    }

    func gauge(name: String, labels: [(String, String)] = [], help: String) -> Gauge {
        makeGauge(descriptor: .whole(name, help), labels: labels)
    }

    func durationHistogram(
        name: String, labels: [(String, String)] = [], buckets: [Duration], help: String
    ) -> DurationHistogram {
        makeDurationHistogram(descriptor: .whole(name, help), labels: labels, buckets: buckets)
    }
}

extension MetricNameDescriptor {
    /// `name` as a base and a unit, which the registry joins back into `name`.
    static func whole(_ name: String, _ help: String) -> MetricNameDescriptor {
        guard let cut = name.lastIndex(of: "_") else {
            preconditionFailure("a metric name without a unit: \(name)")
        }
        return MetricNameDescriptor(
            metricName: String(name[..<cut]), unitName: String(name[name.index(after: cut)...]), helpText: help)
    }
}
