/// JSON renderings with the Go original's field names, for `hearsay decode`, the API and logs.
extension GossipMessage {
    /// The envelope as the Go original's `GossipMessage` JSON: message_id, message_type,
    /// sender_id, timestamp, ttl, vector_clock, payload, metadata.
    public var json: JSONValue {
        .object([
            "message_id": .string(messageID), "message_type": .string(type.rawValue),
            "sender_id": .string(sender.rawValue), "timestamp": .string(timestamp.rfc3339),
            "ttl": .number(Double(ttl)), "vector_clock": vectorClock.json, "payload": payload.json,
            "metadata": metadata.json,
        ])
    }
}

extension MessageMetadata {
    /// The Go original's `GossipMessageMetadata` fields.
    public var json: JSONValue {
        .object([
            "priority": .string(priority.rawValue), "reliability": .bool(reliability), "encrypted": .bool(encrypted),
            "compressed": .bool(compressed), "original_size": .number(Double(originalSize)),
            "compression_type": compressionType.map(JSONValue.string) ?? .null,
        ])
    }
}

extension VectorClock {
    /// Node name to counter.
    public var json: JSONValue {
        .object(Dictionary(uniqueKeysWithValues: entries.map { ($0.node.rawValue, .number(Double($0.counter))) }))
    }
}

extension ContextMetadata {
    /// The Go original's `ContextMetadata` fields plus `value`.
    public var json: JSONValue {
        .object([
            "address": .string(address.rawValue), "version": .number(Double(version)),
            "last_updated": .string(lastUpdated.rfc3339), "updated_by": .string(updatedBy.rawValue),
            "roles": .array(roles.map(JSONValue.string)), "size": .number(Double(size)),
            "checksum": .string(checksumText), "replication_nodes": .array(replicationNodes.map(JSONValue.string)),
            "vector_clock": vectorClock.json, "status": .string(status.rawValue), "value": value ?? .null,
        ])
    }
}

extension MemberRumor {
    /// A member record; `heartbeat` holds the Go original's heartbeat payload.
    public var json: JSONValue {
        var fields: [String: JSONValue] = [
            "member": .string(subject.rawValue), "address": .string(address.rawValue),
            "incarnation": .number(Double(incarnation)), "status": .string(status.rawValue),
        ]
        if let reporter { fields["reporter"] = .string(reporter.rawValue) }
        if let heartbeat {
            fields["heartbeat"] = .object([
                "status": .string(status.rawValue), "load": .number(heartbeat.load),
                "version": .string(heartbeat.version),
                "capabilities": .array(heartbeat.capabilities.map(JSONValue.string)),
                "sequence": .number(Double(heartbeat.sequence)), "tags": heartbeat.tags.json,
            ])
        }
        return .object(fields)
    }
}

extension Payload {
    /// The payload's fields.
    public var json: JSONValue {
        switch self {
        case .heartbeat(let rumor):
            return rumor.json
        case .contextUpdate(let version):
            return version.json
        case .conflictAlert(let alert):
            return .object(["address": .string(alert.address.rawValue), "versions": .array(alert.versions.map(\.json))])
        case .peerDiscovery(let discovery):
            switch discovery {
            case .request(let members):
                return .object(["kind": "request", "peers": .array(members.map(\.json))])
            case .response(let members):
                return .object(["kind": "response", "peers": .array(members.map(\.json))])
            case .digest(let digest):
                return .object(["kind": "digest", "digest": .string(String(digest, radix: 16))])
            case .inSync:
                return .object(["kind": "in_sync"])
            }
        case .healthCheck(let check):
            switch check {
            case .ping(let sequence, let target):
                return .object([
                    "kind": "ping", "sequence": .number(Double(sequence)), "target": .string(target.rawValue),
                ])
            case .ack(let sequence, let incarnation):
                return .object([
                    "kind": "ack", "sequence": .number(Double(sequence)), "incarnation": .number(Double(incarnation)),
                ])
            case .pingRequest(let sequence, let target, let address):
                return .object([
                    "kind": "ping_req", "sequence": .number(Double(sequence)), "target": .string(target.rawValue),
                    "address": .string(address.rawValue),
                ])
            case .nack(let sequence):
                return .object(["kind": "nack", "sequence": .number(Double(sequence))])
            }
        case .metadataSync(let sync):
            var fields: [String: JSONValue] = ["session": .number(Double(sync.session))]
            switch sync.step {
            case .root(let digest, let count):
                fields["step"] = "root"
                fields["digest"] = .string(String(digest, radix: 16))
                fields["entry_count"] = .number(Double(count))
            case .inSync:
                fields["step"] = "in_sync"
            case .buckets(let digest):
                fields["step"] = "buckets"
                fields["bits"] = .number(Double(digest.bits))
                fields["buckets"] = .number(Double(digest.hashes.count))
            case .summaries(let bits, let buckets, let summaries):
                fields["step"] = "summaries"
                fields["bits"] = .number(Double(bits))
                fields["buckets"] = .array(buckets.map { .number(Double($0)) })
                fields["summaries"] = .array(
                    summaries.map {
                        .object(["address": .string($0.address.rawValue), "hash": .string(String($0.hash, radix: 16))])
                    })
            case .push(let versions, let request, let deferred):
                fields["step"] = "push"
                fields["versions"] = .array(versions.map(\.json))
                fields["request"] = .array(request.map { .string($0.rawValue) })
                fields["deferred"] = .array(deferred.map { .number(Double($0)) })
            case .entries(let versions):
                fields["step"] = "entries"
                fields["versions"] = .array(versions.map(\.json))
            }
            return .object(fields)
        case .keyring(.request(let request)):
            // The sealed key is left out: `hearsay decode` output gets pasted into tickets.
            return .object([
                "kind": "request", "id": .number(Double(request.id)), "operation": .string(request.operation.name),
                "sealed_key_bytes": .number(Double(request.sealedKey.count)),
            ])
        case .keyring(.response(let response)):
            return .object([
                "kind": "response", "id": .number(Double(response.id)),
                "refusal": response.refusal.map(JSONValue.string) ?? .null, "primary": .string(response.primary),
                "keys": .array(response.keys.map(JSONValue.string)),
            ])
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}
