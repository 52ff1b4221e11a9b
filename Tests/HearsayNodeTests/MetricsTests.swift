import HearsayCore
import Testing

@testable import HearsayNode

@Suite struct MetricsTests {
    func render(_ metrics: NodeMetrics, engine: Engine) -> String {
        metrics.refresh(from: engine)
        return String(decoding: metrics.render(), as: UTF8.self)
    }

    func value(_ text: String, _ series: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { $0.split(separator: " ").last }
            .flatMap { Double($0) }
    }

    @Test func engineEventsMoveTheirCatalogueMetrics() throws {
        let metrics = NodeMetrics(version: "1.2.3", protocolVersion: "1")
        metrics.record(.gossipRound(duration: .milliseconds(30)))
        metrics.record(.messageDropped(type: .heartbeat, reason: .badSignature))
        metrics.record(.messageDropped(type: nil, reason: .unknownKey))
        metrics.record(.messageDropped(type: nil, reason: .unknownKey))
        metrics.record(.failureDetected)
        metrics.record(.metadataUpdated(origin: .remote))
        metrics.record(.probeRTT(.microseconds(800)))
        let engine = try Engine(
            config: EngineConfig(nodeID: NodeID(unchecked: "n1"), address: PeerAddress("127.0.0.1:1")), seed: 1,
            now: .zero)
        let text = render(metrics, engine: engine)
        #expect(value(text, "hearsay_gossip_rounds_total") == 1)
        #expect(value(text, "hearsay_gossip_round_duration_seconds_count") == 1)
        #expect(value(text, #"hearsay_messages_dropped_total{type="heartbeat",reason="bad_signature"}"#) == 1)
        #expect(value(text, #"hearsay_messages_dropped_total{type="unknown",reason="unknown_key"}"#) == 2)
        #expect(value(text, "hearsay_failure_detections_total") == 1)
        #expect(value(text, #"hearsay_metadata_updates_total{origin="remote"}"#) == 1)
        #expect(value(text, "hearsay_probe_rtt_seconds_count") == 1)
        #expect(value(text, #"hearsay_members{state="alive"}"#) == 1)
        #expect(value(text, #"hearsay_build_info{version="1.2.3",protocol_version="1"}"#) == 1)
        #expect(value(text, "hearsay_message_buffer_capacity") == 1000)
        #expect(text.contains("# HELP hearsay_members "))
        // Drop series that never moved are there at zero, so rates have data from the start;
        // wire checks only with the unknown type, which is all they can report.
        #expect(value(text, #"hearsay_messages_dropped_total{type="unknown",reason="replay"}"#) == 0)
        #expect(value(text, #"hearsay_messages_dropped_total{type="context_update",reason="buffer_full"}"#) == 0)
        #expect(value(text, #"hearsay_messages_dropped_total{type="context_update",reason="replay"}"#) == nil)
    }

    @Test func processMetricsComeFromProc() throws {
        let metrics = NodeMetrics(version: "1", protocolVersion: "1")
        let engine = try Engine(
            config: EngineConfig(nodeID: NodeID(unchecked: "n1"), address: PeerAddress("127.0.0.1:1")), seed: 1,
            now: .zero)
        let text = render(metrics, engine: engine)
        #expect((value(text, "process_resident_memory_bytes") ?? 0) > 1_000_000)
        #expect((value(text, "process_open_fds") ?? 0) >= 1)
        #expect((value(text, "process_max_fds") ?? 0) >= 64)
        let start = value(text, "process_start_time_seconds") ?? 0
        let now = Double(SystemClock.wall().nanoseconds) / 1e9
        #expect(start > now - 3600 && start <= now + 1)
        #expect(value(text, "process_cpu_seconds_total") != nil)
    }
}
