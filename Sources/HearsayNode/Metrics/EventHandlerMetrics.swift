/// The counters of the agent's event handlers (`--event-handler`), labelled by the
/// handler's number: 1 for the first given, and so on (the log names its command).
struct EventHandlerMetrics: Sendable {
    /// Why a run counts as failed.
    enum Failure: String, CaseIterable, Sendable {
        /// It exited with a status other than 0.
        case exitStatus = "exit_status"
        /// A signal ended it.
        case signal
        /// It ran past `event-handler-timeout` and was killed.
        case timeout
        /// It could not be started.
        case notStarted = "not_started"
    }

    private let runs: [Counter]
    private let failures: [[Failure: Counter]]
    private let dropped: [Counter]

    init(registry: MetricRegistry, handlers: Int) {
        let labels = (1...max(handlers, 1)).map(String.init)
        runs = labels.map {
            registry.counter(
                name: "hearsay_event_handler_runs_total", labels: [("handler", $0)],
                help: "Runs of an event handler, by its number in the order given.")
        }
        failures = labels.map { label in
            Dictionary(
                uniqueKeysWithValues: Failure.allCases.map { failure in
                    (
                        failure,
                        registry.counter(
                            name: "hearsay_event_handler_failures_total",
                            labels: [("handler", label), ("reason", failure.rawValue)],
                            help: "Event handler runs that failed, by handler and reason.")
                    )
                })
        }
        dropped = labels.map {
            registry.counter(
                name: "hearsay_event_handler_dropped_total", labels: [("handler", $0)],
                help: "Events an event handler never ran for: it fell too far behind, or the agent stopped.")
        }
    }

    func ran(_ handler: Int) { runs[handler].increment() }

    func failed(_ handler: Int, _ failure: Failure) { failures[handler][failure]?.increment() }

    func dropped(_ handler: Int, count: Int = 1) { dropped[handler].increment(by: Int64(count)) }
}
