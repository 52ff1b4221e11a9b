import HearsayCore

/// The metric catalogue of `docs/metrics.md` for one node, in a Prometheus registry of its
/// own (several nodes in one process, as in `hearsay demo`, never share counters).
///
/// Counters and histograms move as the engine reports events; gauges are read from the
/// engine when `/metrics` is scraped. Every label value comes from a closed set.
package final class NodeMetrics: Sendable {
    /// The registry `/metrics` renders.
    let registry = MetricRegistry()

    private let rounds: Counter
    private let roundDuration: DurationHistogram
    private let failures: Counter
    private let suspicions: Counter
    private let refutations: Counter
    private let probeRTT: DurationHistogram
    private let localUpdates: Counter
    private let remoteUpdates: Counter
    private let conflicts: Counter
    private let dissemination: DurationHistogram
    private let networkErrors: Counter
    private let protocolErrors: Counter
    private let localHealth: Gauge
    private let pending: Gauge
    private let capacity: Gauge
    private let sent: [GossipMessageType: Counter]
    private let received: [GossipMessageType: Counter]
    private let bytesSent: [Transport: Counter]
    private let bytesReceived: [Transport: Counter]
    private let members: [MemberStatus: Gauge]
    private let entries: [MetadataStatus: Gauge]
    private let drops: [DropKey: Counter]
    private let connections: [ListenerPort: Gauge]
    private let bufferedBytes: [ListenerPort: Gauge]
    private let blockingQueries: Gauge
    private let eventStreams: Gauge
    private let eventStreamsCut: Counter
    private let refused: [ListenerPort: [ConnectionLimits.Refusal: Counter]]
    private let cut: [ListenerPort: [ConnectionCut: Counter]]

    private struct DropKey: Hashable {
        var type: GossipMessageType?
        var reason: DropReason
    }
    private let process: ProcessMetrics

    /// Registers every metric, with `version` and `protocolVersion` on `hearsay_build_info`.
    package init(version: String, protocolVersion: String) {
        let r = registry
        process = ProcessMetrics(registry: r)
        rounds = r.counter(
            name: "hearsay_gossip_rounds_total", help: "Gossip rounds (anti-entropy) completed or timed out.")
        roundDuration = r.durationHistogram(
            name: "hearsay_gossip_round_duration_seconds",
            buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000].map { .milliseconds($0) },
            help: "Time from the start of a gossip round until its last exchange finished.")
        failures = r.counter(
            name: "hearsay_failure_detections_total", help: "Members this node declared failed.")
        suspicions = r.counter(name: "hearsay_suspicions_total", help: "Members this node began to suspect.")
        refutations = r.counter(
            name: "hearsay_refutations_total", help: "Rumors about this node that it refuted.")
        probeRTT = r.durationHistogram(
            name: "hearsay_probe_rtt_seconds",
            buckets: [0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500].map { .microseconds(Int64($0 * 1000)) },
            help: "Round-trip time of direct probes that were answered.")
        localUpdates = r.counter(
            name: "hearsay_metadata_updates_total", labels: [("origin", "local")],
            help: "Metadata versions that entered the store, by origin.")
        remoteUpdates = r.counter(
            name: "hearsay_metadata_updates_total", labels: [("origin", "remote")],
            help: "Metadata versions that entered the store, by origin.")
        conflicts = r.counter(
            name: "hearsay_metadata_conflicts_total", help: "Entries found with concurrent versions.")
        dissemination = r.durationHistogram(
            name: "hearsay_dissemination_latency_seconds",
            buckets: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000].map { .milliseconds($0) },
            help: "Time from a write on its origin node until it arrived here.")
        networkErrors = r.counter(
            name: "hearsay_network_errors_total", help: "Failed sends, unanswered exchanges and failed joins.")
        protocolErrors = r.counter(
            name: "hearsay_protocol_errors_total", help: "Messages that broke a protocol rule.")
        localHealth = r.gauge(
            name: "hearsay_local_health_score", help: "Lifeguard local health: 0 is healthy, higher is degraded.")
        pending = r.gauge(name: "hearsay_pending_messages", help: "Broadcasts waiting in the message buffer.")
        capacity = r.gauge(name: "hearsay_message_buffer_capacity", help: "Capacity of the message buffer.")
        sent = Self.family("type") {
            r.counter(name: "hearsay_messages_sent_total", labels: [$0], help: "Messages sent, by type.")
        }
        received = Self.family("type") {
            r.counter(
                name: "hearsay_messages_received_total", labels: [$0], help: "Messages received and verified, by type.")
        }
        bytesSent = Self.family("transport") {
            r.counter(name: "hearsay_bytes_sent_total", labels: [$0], help: "Frame bytes sent, by transport.")
        }
        bytesReceived = Self.family("transport") {
            r.counter(
                name: "hearsay_bytes_received_total", labels: [$0], help: "Frame bytes received, by transport.")
        }
        members = Self.family("state") {
            r.gauge(
                name: "hearsay_members", labels: [$0], help: "Members in this node's view, itself included, by state.")
        }
        entries = Self.family("status") {
            r.gauge(
                name: "hearsay_metadata_entries", labels: [$0], help: "Metadata entries in the store, by status.")
        }
        // Every possible drop series exists from the start (at zero), so rates and alerts
        // on drops have data before the first drop: wire checks drop whole frames, whose
        // messages are unread (type "unknown"); protocol checks drop typed messages. They
        // are kept here so that counting a drop (a flood of bad frames) is one lookup.
        var drops: [DropKey: Counter] = [:]
        for reason in DropReason.allCases {
            let types: [GossipMessageType?] = reason.isWireCheck ? [nil] : [nil] + GossipMessageType.allCases
            for type in types {
                drops[DropKey(type: type, reason: reason)] = Self.makeDropCounter(r, type: type, reason: reason)
            }
        }
        self.drops = drops
        connections = Self.family("port") {
            r.gauge(name: "hearsay_connections", labels: [$0], help: "Open inbound connections, by port.")
        }
        bufferedBytes = Self.family("port") {
            r.gauge(
                name: "hearsay_connection_buffered_bytes", labels: [$0],
                help: "Bytes held for frames or request bodies being received, by port.")
        }
        blockingQueries = r.gauge(
            name: "hearsay_blocking_queries", labels: [],
            help: "Blocking queries (GET with index) waiting for a change.")
        eventStreams = r.gauge(
            name: "hearsay_event_streams", labels: [], help: "Open event streams (GET /v1/events).")
        eventStreamsCut = r.counter(
            name: "hearsay_event_streams_cut_total",
            help: "Event streams cut because their client read too slowly.")
        var refused: [ListenerPort: [ConnectionLimits.Refusal: Counter]] = [:]
        var cut: [ListenerPort: [ConnectionCut: Counter]] = [:]
        for port in ListenerPort.allCases {
            for reason in ConnectionLimits.Refusal.allCases {
                refused[port, default: [:]][reason] = r.counter(
                    name: "hearsay_connections_refused_total",
                    labels: [("port", port.rawValue), ("reason", reason.rawValue)],
                    help: "Inbound connections closed at once by a connection limit, by port and reason.")
            }
            for reason in ConnectionCut.cuts(on: port) {
                cut[port, default: [:]][reason] = r.counter(
                    name: "hearsay_connections_cut_total",
                    labels: [("port", port.rawValue), ("reason", reason.rawValue)],
                    help: "Connections the node closed before their peer was done, by port and reason.")
            }
        }
        self.refused = refused
        self.cut = cut
        r.gauge(
            name: "hearsay_build_info", labels: [("version", version), ("protocol_version", protocolVersion)],
            help: "Always 1; the labels say which build runs."
        ).set(to: 1.0)
    }

    /// One metric per value of a closed label set, made by `make` from its label pair.
    private static func family<Key: CaseIterable & RawRepresentable<String> & Hashable, Metric>(
        _ label: String, _ make: ((String, String)) -> Metric
    ) -> [Key: Metric] {
        Dictionary(uniqueKeysWithValues: Key.allCases.map { ($0, make((label, $0.rawValue))) })
    }

    /// Records an engine event.
    package func record(_ event: MetricEvent) {
        switch event {
        case .gossipRound(let duration):
            rounds.increment()
            roundDuration.record(duration)
        case .messageDropped(let type, let reason):
            dropped(type: type, reason: reason).increment()
        case .failureDetected: failures.increment()
        case .suspicionRaised: suspicions.increment()
        case .refuted: refutations.increment()
        case .probeRTT(let rtt): probeRTT.record(rtt)
        case .metadataUpdated(let origin): (origin == .local ? localUpdates : remoteUpdates).increment()
        case .metadataConflict: conflicts.increment()
        case .disseminationLatency(let latency): dissemination.record(latency)
        case .networkError: networkErrors.increment()
        case .protocolError: protocolErrors.increment()
        }
    }

    /// The drop counter for a type and reason: one registered at start, or (for a pair
    /// that cannot happen) the registry's, made on first use.
    private func dropped(type: GossipMessageType?, reason: DropReason) -> Counter {
        drops[DropKey(type: type, reason: reason)] ?? Self.makeDropCounter(registry, type: type, reason: reason)
    }

    private static func makeDropCounter(
        _ registry: MetricRegistry, type: GossipMessageType?, reason: DropReason
    ) -> Counter {
        registry.counter(
            name: "hearsay_messages_dropped_total",
            labels: [("type", type?.rawValue ?? "unknown"), ("reason", reason.rawValue)],
            help: "Messages or frames dropped, by type (unknown when unreadable) and reason.")
    }

    /// Counts a frame sent: its messages by type and its bytes.
    package func sent(_ messages: [GossipMessage], bytes: Int, via transport: Transport) {
        for message in messages { sent[message.type]?.increment() }
        bytesSent[transport]?.increment(by: Int64(bytes))
    }

    /// Counts a frame received: its bytes, and its messages once verified.
    package func received(bytes: Int, via transport: Transport) {
        bytesReceived[transport]?.increment(by: Int64(bytes))
    }

    /// Counts verified messages by type.
    package func received(_ messages: [GossipMessage]) {
        for message in messages { received[message.type]?.increment() }
    }

    /// Counts a connection refused by a limit.
    func refused(on port: ListenerPort, _ reason: ConnectionLimits.Refusal) {
        refused[port]?[reason]?.increment()
    }

    /// Counts a connection the node cut.
    func cut(on port: ListenerPort, _ reason: ConnectionCut) {
        cut[port]?[reason]?.increment()
    }

    /// Sets a port's open connections and the bytes held for what they are sending.
    func connections(on port: ListenerPort, open: Int, buffered: Int) {
        connections[port]?.set(to: Double(open))
        bufferedBytes[port]?.set(to: Double(buffered))
    }

    /// Sets the gauge of open event streams.
    func eventStreams(open: Int) {
        eventStreams.set(to: Double(open))
    }

    /// Counts an event stream cut off for its slow reader.
    func eventStreamCut() {
        eventStreamsCut.increment()
    }

    /// Sets the gauge of blocking queries waiting.
    func blockingQueries(waiting: Int) {
        blockingQueries.set(to: Double(waiting))
    }

    /// Sets the gauges from the engine's state; called before each render.
    package func refresh(from engine: Engine) {
        for status in MemberStatus.allCases {
            members[status]?.set(to: Double(engine.members.count(status)))
        }
        let counts = engine.store.countsByStatus()
        for status in MetadataStatus.allCases {
            entries[status]?.set(to: Double(counts[status] ?? 0))
        }
        process.refresh()
        let state = engine.state
        localHealth.set(to: Double(state.localHealthScore))
        pending.set(to: Double(state.pendingMessages))
        capacity.set(to: Double(state.messageBufferCapacity))
    }

    /// The Prometheus text exposition of every metric.
    package func render() -> [UInt8] {
        registry.render()
    }
}
