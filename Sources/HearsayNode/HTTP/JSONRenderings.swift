import HearsayCore

/// JSON renderings of the engine's state for the API, with the Go original's field names.
extension GossipState {
    /// The Go original's `GossipState` fields.
    package var json: JSONValue {
        .object([
            "running": .bool(running), "current_round": .number(Double(currentRound)),
            "round_start_time": roundStartTime.map { .string($0.rfc3339) } ?? .null,
            "round_duration_seconds": .number(roundDuration.seconds),
            "active_connections": .number(Double(activeConnections)),
            "pending_messages": .number(Double(pendingMessages)),
            "message_buffer_capacity": .number(Double(messageBufferCapacity)),
            "next_round_time": nextRoundTime.map { .string($0.rfc3339) } ?? .null,
            "protocol_version": .string(protocolVersion), "state": .string(state),
            "incarnation": .number(Double(incarnation)), "local_health_score": .number(Double(localHealthScore)),
            "joined": .bool(joined),
        ])
    }
}

extension GossipStatistics {
    /// The Go original's `GossipStatistics` fields, with the true average round time.
    package var json: JSONValue {
        .object([
            "gossip_rounds": .number(Double(gossipRounds)), "completed_rounds": .number(Double(completedRounds)),
            "messages_sent": .number(Double(messagesSent)), "messages_received": .number(Double(messagesReceived)),
            "messages_dropped": .number(Double(messagesDropped)), "active_peers": .number(Double(activePeers)),
            "average_round_time_seconds": .number(averageRoundTime.seconds),
            "last_gossip_time": lastGossipTime.map { .string($0.rfc3339) } ?? .null,
            "last_updated": .string(lastUpdated.rfc3339), "network_errors": .number(Double(networkErrors)),
            "protocol_errors": .number(Double(protocolErrors)),
            "failure_detections": .number(Double(failureDetections)), "suspicions": .number(Double(suspicions)),
            "refutations": .number(Double(refutations)), "conflicts": .number(Double(conflicts)),
            "local_updates": .number(Double(localUpdates)), "remote_updates": .number(Double(remoteUpdates)),
        ])
    }
}

extension Member {
    /// A member with its latest heartbeat payload; `changedAt` is `statusChangedAt` on
    /// the wall clock.
    func json(heartbeat: NodeHeartbeat?, changedAt: Instant) -> JSONValue {
        var fields: [String: JSONValue] = [
            "name": .string(id.rawValue), "address": .string(address.rawValue), "state": .string(status.rawValue),
            "incarnation": .number(Double(incarnation)), "state_changed_at": .string(changedAt.rfc3339),
            "tags": (heartbeat?.tags ?? .none).json,
        ]
        if let heartbeat {
            fields["heartbeat"] = .object([
                "load": .number(heartbeat.load), "version": .string(heartbeat.version),
                "capabilities": .array(heartbeat.capabilities.map(JSONValue.string)),
                "sequence": .number(Double(heartbeat.sequence)),
            ])
        }
        return .object(fields)
    }
}

extension MetadataEntry {
    /// An entry: its address, whether it is in conflict, and every version it holds
    /// (one, or the concurrent siblings of a conflict).
    var json: JSONValue {
        .object([
            "address": .string(address.rawValue), "conflicted": .bool(versions.count > 1),
            "versions": .array(versions.map(\.json)),
        ])
    }

    /// Whether every version is a deletion.
    var isDeleted: Bool { versions.allSatisfy { $0.status == .deleted } }
}
