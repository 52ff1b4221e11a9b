import HearsayCore

/// Payload encodings, one per message type, in the field order of `docs/wire.md`.
extension MessageCodec {
    static func payload(_ payload: Payload, into writer: inout ByteWriter) {
        switch payload {
        case .heartbeat(let rumor): self.rumor(rumor, into: &writer)
        case .metadataSync(let sync): self.sync(sync, into: &writer)
        case .contextUpdate(let version): self.version(version, into: &writer)
        case .peerDiscovery(let discovery):
            switch discovery {
            case .request(let members):
                writer.byte(0)
                rumors(members, into: &writer)
            case .response(let members):
                writer.byte(1)
                rumors(members, into: &writer)
            case .digest(let digest):
                writer.byte(2)
                writer.fixed64(digest)
            case .inSync:
                writer.byte(3)
            }
        case .conflictAlert(let alert):
            writer.string(alert.address.rawValue)
            versions(alert.versions, into: &writer)
        case .healthCheck(let check): self.check(check, into: &writer)
        case .keyring(.request(let request)):
            writer.byte(0)
            writer.varint(request.id)
            writer.byte(request.operation.rawValue)
            writer.data(request.sealedKey)
        case .keyring(.response(let response)):
            writer.byte(1)
            writer.varint(response.id)
            writer.optional(response.refusal) { $0.string($1) }
            writer.string(response.primary)
            writer.strings(response.keys)
        }
    }

    static func payload(_ type: GossipMessageType, _ reader: inout ByteReader, end: Int) throws(WireError) -> Payload {
        let result: Payload
        switch type {
        case .heartbeat:
            result = .heartbeat(try rumor(&reader))
        case .metadataSync:
            result = .metadataSync(try sync(&reader))
        case .contextUpdate:
            result = .contextUpdate(try version(&reader))
        case .peerDiscovery:
            let kind = try reader.byte("peer discovery kind")
            switch kind {
            case 0: result = .peerDiscovery(.request(members: try rumors(&reader)))
            case 1: result = .peerDiscovery(.response(members: try rumors(&reader)))
            case 2: result = .peerDiscovery(.digest(try reader.fixed64("member list digest")))
            case 3: result = .peerDiscovery(.inSync)
            default: throw .decodeError("unknown peer discovery kind \(kind)")
            }
        case .conflictAlert:
            let address = try metadataAddress(&reader, "conflict address")
            result = .conflictAlert(ConflictAlert(address: address, versions: try versions(&reader)))
        case .healthCheck:
            result = .healthCheck(try check(&reader))
        case .keyring:
            result = .keyring(try keyring(&reader))
        }
        guard reader.offset == end else {
            throw .decodeError("\(type.rawValue) payload length disagrees with its content")
        }
        return result
    }

    // MARK: Membership

    static func rumor(_ rumor: MemberRumor, into writer: inout ByteWriter) {
        writer.string(rumor.subject.rawValue)
        writer.string(rumor.address.rawValue)
        writer.varint(rumor.incarnation)
        writer.byte(rumor.status.wireCode)
        writer.optional(rumor.reporter) { $0.string($1.rawValue) }
        writer.optional(rumor.heartbeat) { writer, heartbeat in
            writer.varint(heartbeat.sequence)
            writer.double(heartbeat.load)
            writer.string(heartbeat.version)
            writer.strings(heartbeat.wireCapabilities)
        }
    }

    static func rumor(_ reader: inout ByteReader) throws(WireError) -> MemberRumor {
        let subject = try nodeID(&reader, "member")
        let address = try peerAddress(&reader, "member address")
        let incarnation = try reader.varint("incarnation")
        let code = try reader.byte("member status")
        guard let status = MemberStatus(wireCode: code) else { throw .decodeError("unknown member status \(code)") }
        let reporter = try reader.optional("reporter") { reader throws(WireError) in try nodeID(&reader, "reporter") }
        let heartbeat = try reader.optional("heartbeat") { reader throws(WireError) in
            let sequence = try reader.varint("heartbeat sequence")
            let load = try reader.double("load")
            guard load.isFinite else { throw .decodeError("load is not a finite number") }
            let version = try reader.string("version", maxBytes: 128)
            let strings = try reader.strings("capability", maxBytes: 128)
            guard let (capabilities, tags) = MemberTags.split(capabilities: strings) else {
                throw .decodeError("malformed tags")
            }
            return NodeHeartbeat(
                sequence: sequence, load: load, version: version, capabilities: capabilities, tags: tags)
        }
        return MemberRumor(
            subject: subject, address: address, incarnation: incarnation, status: status, reporter: reporter,
            heartbeat: heartbeat)
    }

    static func rumors(_ members: [MemberRumor], into writer: inout ByteWriter) {
        writer.array(members) { rumor($1, into: &$0) }
    }

    static func rumors(_ reader: inout ByteReader) throws(WireError) -> [MemberRumor] {
        try reader.array("member count", minimumSize: 7) { reader throws(WireError) in try rumor(&reader) }
    }

    static func check(_ check: HealthCheck, into writer: inout ByteWriter) {
        switch check {
        case .ping(let sequence, let target):
            writer.byte(0)
            writer.varint(sequence)
            writer.string(target.rawValue)
        case .ack(let sequence, let incarnation):
            writer.byte(1)
            writer.varint(sequence)
            writer.varint(incarnation)
        case .pingRequest(let sequence, let target, let address):
            writer.byte(2)
            writer.varint(sequence)
            writer.string(target.rawValue)
            writer.string(address.rawValue)
        case .nack(let sequence):
            writer.byte(3)
            writer.varint(sequence)
        }
    }

    static func check(_ reader: inout ByteReader) throws(WireError) -> HealthCheck {
        let kind = try reader.byte("health check kind")
        let sequence = try reader.varint("sequence")
        switch kind {
        case 0: return .ping(sequence: sequence, target: try nodeID(&reader, "ping target"))
        case 1: return .ack(sequence: sequence, incarnation: try reader.varint("ack incarnation"))
        case 2:
            let target = try nodeID(&reader, "ping-req target")
            return .pingRequest(
                sequence: sequence, target: target, address: try peerAddress(&reader, "ping-req address"))
        case 3: return .nack(sequence: sequence)
        default: throw .decodeError("unknown health check kind \(kind)")
        }
    }

    // MARK: Metadata

    static func version(_ version: ContextMetadata, into writer: inout ByteWriter) {
        writer.string(version.address.rawValue)
        writer.zigzag(version.lastUpdated.milliseconds)
        writer.string(version.updatedBy.rawValue)
        writer.strings(version.roles)
        writer.strings(version.replicationNodes)
        clock(version.vectorClock, into: &writer)
        writer.byte(version.status.wireCode)
        writer.fixed64(version.checksum)
        writer.optional(version.valueText) { $0.string($1) }
    }

    static func version(_ reader: inout ByteReader) throws(WireError) -> ContextMetadata {
        let address = try metadataAddress(&reader, "address")
        let lastUpdated = try instant(&reader, "last updated")
        let updatedBy = try nodeID(&reader, "updated by")
        let roles = try reader.strings("role", maxBytes: 1024)
        let replicationNodes = try reader.strings("replication node", maxBytes: 1024)
        let clock = try clock(&reader)
        let code = try reader.byte("metadata status")
        guard let status = MetadataStatus(wireCode: code) else { throw .decodeError("unknown metadata status \(code)") }
        let checksum = try reader.fixed64("checksum")
        // The value's JSON is parsed by the store, and only when the version is news.
        let valueText = try reader.optional("value") { reader throws(WireError) in try reader.string("value") }
        return ContextMetadata(
            decodedAddress: address, valueText: valueText, status: status, roles: roles,
            replicationNodes: replicationNodes, vectorClock: clock, updatedBy: updatedBy, lastUpdated: lastUpdated,
            checksum: checksum)
    }

    static func versions(_ versions: [ContextMetadata], into writer: inout ByteWriter) {
        writer.array(versions) { version($1, into: &$0) }
    }

    static func versions(_ reader: inout ByteReader) throws(WireError) -> [ContextMetadata] {
        try reader.array("version count", minimumSize: 16) { reader throws(WireError) in try version(&reader) }
    }

    // MARK: Anti-entropy

    static func sync(_ sync: SyncMessage, into writer: inout ByteWriter) {
        writer.varint(sync.session)
        switch sync.step {
        case .root(let digest, let count):
            writer.byte(0)
            writer.fixed64(digest)
            writer.varint(count)
        case .inSync:
            writer.byte(1)
        case .buckets(let digest):
            writer.byte(2)
            writer.byte(UInt8(clamping: digest.bits))
            writer.array(digest.hashes) { $0.fixed64($1) }
        case .summaries(let bits, let buckets, let summaries):
            writer.byte(3)
            writer.byte(UInt8(clamping: bits))
            writer.array(buckets) { $0.varint($1) }
            writer.array(summaries) { writer, summary in
                writer.string(summary.address.rawValue)
                writer.fixed64(summary.hash)
            }
        case .push(let versions, let request, let deferred):
            writer.byte(4)
            self.versions(versions, into: &writer)
            writer.array(request) { $0.string($1.rawValue) }
            writer.array(deferred) { $0.varint($1) }
        case .entries(let versions):
            writer.byte(5)
            self.versions(versions, into: &writer)
        }
    }

    static func sync(_ reader: inout ByteReader) throws(WireError) -> SyncMessage {
        let session = try reader.varint("session")
        let kind = try reader.byte("sync step")
        let step: SyncStep
        switch kind {
        case 0:
            let digest = try reader.fixed64("digest")
            step = .root(digest: digest, entryCount: try reader.int("entry count"))
        case 1:
            step = .inSync
        case 2:
            let bits = Int(try reader.byte("bucket bits"))
            let hashes = try reader.array("bucket count", minimumSize: 8) { reader throws(WireError) in
                try reader.fixed64("bucket hash")
            }
            step = .buckets(BucketDigest(bits: bits, hashes: hashes))
        case 3:
            let bits = Int(try reader.byte("bucket bits"))
            let buckets = try reader.array("bucket list") { reader throws(WireError) in try reader.int("bucket") }
            let summaries = try reader.array("summary count", minimumSize: 10) { reader throws(WireError) in
                let address = try metadataAddress(&reader, "summary address")
                return EntrySummary(address: address, hash: try reader.fixed64("entry hash"))
            }
            step = .summaries(bits: bits, buckets: buckets, summaries: summaries)
        case 4:
            let versions = try versions(&reader)
            let request = try reader.array("request count", minimumSize: 2) { reader throws(WireError) in
                try metadataAddress(&reader, "requested address")
            }
            let deferred = try reader.array("deferred bucket count") { reader throws(WireError) in
                try reader.int("deferred bucket")
            }
            step = .push(versions: versions, request: request, deferred: deferred)
        case 5:
            step = .entries(try versions(&reader))
        default:
            throw .decodeError("unknown sync step \(kind)")
        }
        return SyncMessage(session: session, step: step)
    }

    // MARK: Keyring

    static func keyring(_ reader: inout ByteReader) throws(WireError) -> KeyringMessage {
        let kind = try reader.byte("keyring message kind")
        let id = try reader.varint("keyring request id")
        switch kind {
        case 0:
            let code = try reader.byte("keyring operation")
            guard let operation = KeyringOperation(rawValue: code) else {
                throw .decodeError("unknown keyring operation \(code)")
            }
            // A sealed 32-byte key: nonce, ciphertext and tag, well under 128 bytes.
            let sealed = try reader.data("sealed key")
            guard sealed.count <= 128 else { throw .tooLarge("sealed key of \(sealed.count) bytes, limit 128") }
            return .request(KeyringRequest(id: id, operation: operation, sealedKey: sealed))
        case 1:
            let refusal = try reader.optional("refusal") { reader throws(WireError) in
                try reader.string("refusal", maxBytes: 512)
            }
            let primary = try reader.string("primary key id", maxBytes: 64)
            let keys = try reader.strings("key id", maxBytes: 64)
            return .response(KeyringResponse(id: id, refusal: refusal, primary: primary, keys: keys))
        default:
            throw .decodeError("unknown keyring message kind \(kind)")
        }
    }
}
