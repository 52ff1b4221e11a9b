import HearsayCore
import Logging
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The agent's `--event-handler`s: for each event a handler's filter admits, its command
/// runs with the event as one line of JSON on standard input and in `HEARSAY_*`
/// variables (docs/api.md, "Event handlers").
///
/// Nothing here runs on the event loop but `offer`, which files the event and returns.
/// Commands run on threads of their own, at most `concurrency` at once and one at a time
/// per handler, so each handler sees its events in order. Each handler holds at most
/// `queueLimit` events and `queueBytes` of them; past that, events are dropped and
/// counted, so a handler that cannot keep up, or hangs until its timeout, costs the
/// agent a bounded queue and never slows the protocol.
final class EventHandlers: Sendable {
    static let concurrency = 4
    static let queueLimit = 1_000
    static let queueBytes = 4 * 1024 * 1024

    private struct Handler: Sendable {
        let spec: EventHandlerSpec
        var queue: [ClusterEvent] = []
        var queuedBytes = 0
        /// Whether a thread is running (or about to run) this handler's next event.
        var busy = false
        /// The process group of the command running now.
        var running: pid_t?
    }

    private struct State: Sendable {
        var handlers: [Handler]
        var stopping = false
        /// When a drop was last logged, by handler: one line per 10 s at most.
        var lastDropLog: [Int: ContinuousClock.Instant] = [:]
    }

    private let state: Mutex<State>
    private let pool: NIOThreadPool
    private let timeout: Duration
    /// The agent's environment without its own `HEARSAY_*` settings (the key among
    /// them), with `HEARSAY_NODE` and `HEARSAY_HTTP_ADDR` for `hearsay` commands.
    private let environment: [String]
    private let logger: Logger
    private let metrics: EventHandlerMetrics

    /// Starts the threads; `httpAddress` is where the agent's API answers.
    init(
        _ specs: [EventHandlerSpec], timeout: Duration, node: NodeID, httpAddress: String, logger: Logger,
        metrics: EventHandlerMetrics
    ) {
        state = Mutex(State(handlers: specs.map { Handler(spec: $0) }))
        pool = NIOThreadPool(numberOfThreads: min(Self.concurrency, max(specs.count, 1)))
        pool.start()
        self.timeout = timeout
        self.logger = logger
        self.metrics = metrics
        var environment: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            if !text.hasPrefix("HEARSAY_") { environment.append(text) }
            cursor += 1
        }
        environment.append("HEARSAY_NODE=\(node.rawValue)")
        environment.append("HEARSAY_HTTP_ADDR=\(httpAddress)")
        self.environment = environment
    }

    /// Files `event` with every handler that wants it. On the event loop: never blocks.
    func offer(_ event: ClusterEvent) {
        var start: [Int] = []
        var drops: [Int] = []
        state.withLock { state in
            guard !state.stopping else { return }
            for index in state.handlers.indices where state.handlers[index].spec.filter.admits(event) {
                let handler = state.handlers[index]
                guard
                    handler.queue.count < Self.queueLimit,
                    handler.queuedBytes + event.line.count <= Self.queueBytes || handler.queue.isEmpty
                else {
                    drops.append(index)
                    continue
                }
                state.handlers[index].queue.append(event)
                state.handlers[index].queuedBytes += event.line.count
                if !handler.busy {
                    state.handlers[index].busy = true
                    start.append(index)
                }
            }
        }
        for index in drops { dropped(index, event) }
        for index in start { schedule(index) }
    }

    /// Runs no more events: those queued are dropped and counted, and commands still
    /// running get SIGTERM (the agent does not wait for them).
    func stop() {
        let dropped: [Int] = state.withLock { state in
            state.stopping = true
            var dropped: [Int] = []
            for index in state.handlers.indices {
                if let group = state.handlers[index].running { kill(-group, SIGTERM) }
                dropped.append(state.handlers[index].queue.count)
                state.handlers[index].queue = []
                state.handlers[index].queuedBytes = 0
            }
            return dropped
        }
        for (index, count) in dropped.enumerated() where count > 0 {
            metrics.dropped(index, count: count)
            logger.warning(
                "event handler's events dropped: the agent is stopping",
                metadata: ["event": "event_handler_dropped", "handler": "\(index + 1)", "dropped": "\(count)"])
        }
        pool.shutdownGracefully { _ in }
    }

    private func schedule(_ index: Int) {
        pool.submit { [self] workState in
            guard workState == .active else { return }
            runNext(index)
        }
    }

    /// Runs the handler's oldest event, then hands the thread on: the next event of the
    /// same handler waits behind the other handlers' work already submitted.
    private func runNext(_ index: Int) {
        let next: (spec: EventHandlerSpec, event: ClusterEvent)? = state.withLock { state in
            guard !state.stopping, !state.handlers[index].queue.isEmpty else {
                state.handlers[index].busy = false
                return nil
            }
            let event = state.handlers[index].queue.removeFirst()
            state.handlers[index].queuedBytes -= event.line.count
            return (state.handlers[index].spec, event)
        }
        guard let next else { return }
        let run = HandlerProcess.run(
            command: next.spec.command, input: next.event.line + [UInt8(ascii: "\n")],
            environment: environment + Self.variables(next.event), timeout: timeout,
            tracking: HandlerProcess.Tracking(
                started: { [self] group in
                    state.withLock { state in
                        state.handlers[index].running = group
                        if state.stopping { kill(-group, SIGTERM) }
                    }
                },
                exiting: { [self] in state.withLock { $0.handlers[index].running = nil } }))
        report(run, index: index, spec: next.spec, event: next.event)
        let more = state.withLock { state in
            if state.stopping || state.handlers[index].queue.isEmpty {
                state.handlers[index].busy = false
                return false
            }
            return true
        }
        if more { schedule(index) }
    }

    /// The event's fields as variables: `HEARSAY_EVENT` (its type), `HEARSAY_INDEX`, and
    /// `HEARSAY_<FIELD>` for every other field that is a string, number or boolean (not
    /// the value, which only standard input carries: it can be larger than a variable).
    static func variables(_ event: ClusterEvent) -> [String] {
        var variables = ["HEARSAY_EVENT=\(event.type)", "HEARSAY_INDEX=\(event.index)"]
        guard case .object(let fields)? = try? JSONValue.parse(bytes: event.line) else { return variables }
        for key in fields.keys.sorted() where !["type", "index", "value"].contains(key) {
            let text: String
            switch fields[key]! {
            case .string(let string): text = string
            case .number, .bool: text = fields[key]!.canonicalText
            default: continue
            }
            guard !text.utf8.contains(0) else { continue }
            variables.append("HEARSAY_\(key.uppercased())=\(text)")
        }
        return variables
    }

    private func report(_ run: HandlerRun, index: Int, spec: EventHandlerSpec, event: ClusterEvent) {
        metrics.ran(index)
        var fields: Logger.Metadata = [
            "handler": "\(index + 1)", "command": "\(spec.command)", "type": "\(event.type)",
            "index": "\(event.index)",
            "duration_ms": "\((run.duration / .microseconds(1)).rounded() / 1000)",
        ]
        if run.outputBytes > 0 {
            var output = String(decoding: run.output, as: UTF8.self)
            if run.outputBytes > run.output.count { output += "... (\(run.outputBytes) bytes in all)" }
            fields["output"] = "\(output)"
        }
        let failure: EventHandlerMetrics.Failure?
        switch run.outcome {
        case .exited(let status):
            fields["status"] = "\(status)"
            failure = status == 0 ? nil : .exitStatus
        case .signaled(let signal):
            fields["signal"] = "\(signal)"
            failure = .signal
        case .timedOut:
            fields["timeout"] = "\(timeout.text)"
            failure = .timeout
        case .notStarted(let reason):
            fields["error"] = "\(reason)"
            failure = .notStarted
        }
        guard let failure else {
            fields["event"] = "event_handler_ran"
            logger.info("event handler ran", metadata: fields)
            return
        }
        metrics.failed(index, failure)
        fields["event"] = "event_handler_failed"
        fields["reason"] = "\(failure.rawValue)"
        logger.warning("event handler failed", metadata: fields)
    }

    private func dropped(_ index: Int, _ event: ClusterEvent) {
        metrics.dropped(index)
        let now = ContinuousClock.now
        let log = state.withLock { state in
            if let last = state.lastDropLog[index], now - last < .seconds(10) { return false }
            state.lastDropLog[index] = now
            return true
        }
        guard log else { return }
        logger.warning(
            "event handler fell behind: events dropped",
            metadata: [
                "event": "event_handler_dropped", "handler": "\(index + 1)", "type": "\(event.type)",
                "index": "\(event.index)", "queue_limit": "\(Self.queueLimit) events, \(Self.queueBytes) bytes",
            ])
    }
}
