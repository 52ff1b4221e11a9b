import HearsayCore
import NIOCore

/// `GET /v1/events`: the node's member and metadata changes as they happen.
extension Node {
    /// Opens an event stream: `types` and `prefix` filter it, `index` (or SSE's
    /// `Last-Event-ID`) resumes after the event with that index, `format=sse` (or
    /// `Accept: text/event-stream`) spells it as server-sent events.
    func eventsRequest(_ request: HTTPRequest) -> HTTPReply {
        let filter: EventFilter
        do {
            filter = try EventFilter(types: request.query["types"], prefix: request.query["prefix"])
        } catch {
            return .now(.error(.badRequest, "\(error)"))
        }
        let format: EventFormat
        switch request.query["format"] {
        case "sse"?: format = .sse
        case "ndjson"?: format = .ndjson
        case nil: format = request.headers.first(name: "accept")?.contains("text/event-stream") == true ? .sse : .ndjson
        case let other?: return .now(.error(.badRequest, "format '\(other)' is not ndjson or sse"))
        }
        var after: UInt64?
        if let text = request.query["index"] ?? request.headers.first(name: "last-event-id") {
            guard let index = UInt64(text) else {
                return .now(.error(.badRequest, "index '\(text)' is not a whole number from 0 to 2^64 - 1"))
            }
            after = index
        }
        guard phase == .running else {
            return .now(.error(.serviceUnavailable, "the node is \(phase == .created ? "starting" : "stopping")"))
        }
        let resume = after
        return .stream(
            EventStreamReply(format: format, index: events.lastIndex) { [self] sink in
                self.assumeIsolated { node in
                    sink.value.attach(node.events.budget)
                    let opened = node.events.open(sink.value, filter: filter, after: resume, now: SystemClock.wall())
                    node.metrics.eventStreams(open: node.events.count)
                    guard let id = opened else { return {} }
                    // Later, not within: the client's going is seen inside a write to
                    // its stream, while the hub may be writing to every stream.
                    return { [node] in
                        node.eventLoop.execute {
                            node.assumeIsolated { node in
                                node.events.close(id)
                                node.metrics.eventStreams(open: node.events.count)
                            }
                        }
                    }
                }
            })
    }

    /// Starts the `--event-handler`s, telling them where the API answers (a wildcard
    /// bind is reached on loopback).
    func startEventHandlers() {
        guard !settings.eventHandlers.isEmpty, let bound = httpAddress else { return }
        var host = bound.ipAddress ?? "127.0.0.1"
        if IPAddressText.isUnspecified(host) { host = host.contains(":") ? "::1" : "127.0.0.1" }
        eventHandlers = EventHandlers(
            settings.eventHandlers, timeout: settings.eventHandlerTimeout, node: name,
            httpAddress: HostPort(host: host, port: bound.port ?? 0).description, logger: logger,
            metrics: EventHandlerMetrics(registry: metrics.registry, handlers: settings.eventHandlers.count))
    }

    /// Every 30 s with nothing else to say: a heartbeat on every stream (`maintain`).
    func eventHeartbeat(now: Instant) {
        events.heartbeat(now: now)
        metrics.eventStreams(open: events.count)
    }

    /// The member events, from the engine's records of them.
    func publishMemberEvent(_ record: LogRecord) {
        guard ClusterEvent.memberTypes.contains(record.event) else { return }
        var fields: [String: JSONValue] = [:]
        for field in record.fields {
            let number = field.key == "incarnation" ? UInt64(field.value) : nil
            fields[field.key] = number.map { .number(Double($0)) } ?? .string(field.value)
        }
        // The member's tags as an object, held until the member is forgotten: a handler
        // of member_failed still learns the role of what failed.
        if let member = record["member"].flatMap({ try? NodeID($0) }) {
            fields["tags"] = (engine.heartbeat(of: member)?.tags ?? .none).json
        }
        publish(record.event, at: SystemClock.wall(), fields)
    }

    /// A version entered the store, written here (`local`) or merged from a peer; with
    /// the entry's conflict found or settled.
    func publishMetadataEvent(_ version: ContextMetadata, local: Bool) {
        let now = SystemClock.wall()
        let address = version.address
        publish(ClusterEvent.metadataChange(version, local: local, index: events.nextIndex, time: now))
        let siblings = engine.store.entry(address)?.versions.count ?? 0
        if siblings > 1, !conflictedAddresses.contains(address) {
            conflictedAddresses.insert(address)
            publish(
                "metadata_conflicted", at: now, address: address,
                ["address": .string(address.rawValue), "siblings": .number(Double(siblings))])
        } else if siblings <= 1, conflictedAddresses.remove(address) != nil {
            publish(
                "metadata_resolved", at: now, address: address,
                ["address": .string(address.rawValue), "version": .number(Double(version.version))])
        }
    }

    /// Records an event and writes it to its streams; the gauge follows the streams cut.
    private func publish(
        _ type: String, at time: Instant, address: MetadataAddress? = nil, _ fields: [String: JSONValue]
    ) {
        publish(ClusterEvent(index: events.nextIndex, type: type, time: time, address: address, fields: fields))
    }

    private func publish(_ event: ClusterEvent) {
        eventHandlers?.offer(event)
        let open = events.count
        events.publish(event)
        if events.count != open { metrics.eventStreams(open: events.count) }
    }
}
