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

    @Test func theRegistryWritesTheTextFormatInTheOrderOfRegistration() {
        let registry = MetricRegistry()
        let plain = registry.counter(name: "a_total", help: "Counts \\ things\nover lines.")
        let labelled = registry.counter(
            name: "b_total", labels: [("kind", #"say "hi"\n"#), ("at", "x")], help: "By kind.")
        let gauge = registry.gauge(name: "c_bytes", help: "A gauge.")
        let histogram = registry.durationHistogram(
            name: "d_seconds", buckets: [.milliseconds(10), .milliseconds(1), .seconds(1)], help: "Times.")
        plain.increment()
        plain.increment(by: Int64(2))
        labelled.increment(by: 0.25)
        // The same name and labels again are the same series.
        registry.counter(name: "b_total", labels: [("kind", #"say "hi"\n"#), ("at", "x")], help: "By kind.")
            .increment(by: 0.5)
        gauge.set(to: 1.5)
        histogram.record(.microseconds(500))
        histogram.record(.milliseconds(5))
        histogram.record(.milliseconds(5))
        histogram.record(.seconds(5))
        let text = String(decoding: registry.render(), as: UTF8.self)
        #expect(MetricRegistry.text(.infinity) == "+Inf" && MetricRegistry.text(-.infinity) == "-Inf")
        #expect(MetricRegistry.text(.nan) == "NaN" && MetricRegistry.text(1e-5) == "1e-05")
        #expect(
            text == """
                # HELP a_total Counts \\\\ things\\nover lines.
                # TYPE a_total counter
                a_total 3
                # HELP b_total By kind.
                # TYPE b_total counter
                b_total{kind="say \\"hi\\"\\\\n",at="x"} 0.75
                # HELP c_bytes A gauge.
                # TYPE c_bytes gauge
                c_bytes 1.5
                # HELP d_seconds Times.
                # TYPE d_seconds histogram
                d_seconds_bucket{le="0.001"} 1
                d_seconds_bucket{le="0.01"} 3
                d_seconds_bucket{le="1.0"} 3
                d_seconds_bucket{le="+Inf"} 4
                d_seconds_sum 5.0105
                d_seconds_count 4

                """)
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
