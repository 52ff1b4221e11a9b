/// A counter increment or a histogram observation, named after the metric catalogue.
///
/// Label values come from closed enums, so no peer id or address can become a label.
/// Gauges (members by state, entries by status, pending messages, local health) are
/// read from the engine's state when scraped rather than sent as events.
public enum MetricEvent: Sendable, Equatable {
    /// `gossip_rounds_total` and `gossip_round_duration_seconds`.
    case gossipRound(duration: Duration)
    /// `messages_dropped_total{type, reason}`; type is nil when it could not be read.
    case messageDropped(type: GossipMessageType?, reason: DropReason)
    /// `failure_detections_total`: a member became failed in this node's view.
    case failureDetected
    /// `suspicions_total`: a member became suspect in this node's view.
    case suspicionRaised
    /// `refutations_total`: this node refuted a rumor about itself.
    case refuted
    /// `probe_rtt_seconds`: a direct ping's round trip.
    case probeRTT(Duration)
    /// `metadata_updates_total{origin}`.
    case metadataUpdated(origin: UpdateOrigin)
    /// `metadata_conflicts_total`: concurrent versions found for an entry.
    case metadataConflict
    /// `dissemination_latency_seconds`: from a write to its arrival here.
    case disseminationLatency(Duration)
    /// `network_errors_total`: an exchange that timed out or a peer that did not answer.
    case networkError
    /// `protocol_errors_total`: a peer sent something the protocol forbids.
    case protocolError
}

/// Where a metadata update came from.
public enum UpdateOrigin: String, Sendable, CaseIterable {
    case local, remote
}

/// Why a message was dropped; the `reason` label of `messages_dropped_total`.
public enum DropReason: String, Sendable, CaseIterable, Codable {
    // Wire checks, reported by the wire layer.
    case truncated
    case tooLarge = "too_large"
    case badVersion = "bad_version"
    case unknownKey = "unknown_key"
    case badSignature = "bad_signature"
    case decryptFailed = "decrypt_failed"
    case decompressFailed = "decompress_failed"
    case replay
    case unknownType = "unknown_type"
    case decodeError = "decode_error"
    // Protocol checks, reported by the engine.
    /// The message buffer (queued broadcasts) was full.
    case bufferFull = "buffer_full"
    /// The node was not running.
    case notRunning = "not_running"
    /// A ping for another node reached this one (a stale address).
    case wrongTarget = "wrong_target"
    /// The payload broke a protocol rule (bad checksum, malformed digest, unknown session).
    case invalidPayload = "invalid_payload"
    /// A metadata version this node's store refused by its limits (store full, too many
    /// siblings, a value over this node's size limit): the rest of the message is kept.
    case rejected

    /// Whether the wire layer reports this reason, before any message of the frame is
    /// read (so its drops carry no message type).
    public var isWireCheck: Bool {
        switch self {
        case .truncated, .tooLarge, .badVersion, .unknownKey, .badSignature, .decryptFailed, .decompressFailed,
            .replay, .unknownType, .decodeError:
            true
        case .bufferFull, .notRunning, .wrongTarget, .invalidPayload, .rejected:
            false
        }
    }
}
