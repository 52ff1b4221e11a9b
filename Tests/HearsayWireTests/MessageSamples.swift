import HearsayCore

/// Random messages of every type, for property tests of the codec and the frames.
struct MessageSamples {
    var random: SeededGenerator

    init(seed: UInt64) { random = SeededGenerator(seed: seed) }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }
    mutating func u64() -> UInt64 {
        // Mix small and huge values so every varint length appears.
        let bits = int(0...64)
        return bits == 64
            ? UInt64.random(in: 0...UInt64.max, using: &random)
            : UInt64.random(in: 0...(1 << UInt64(bits)), using: &random)
    }
    mutating func bool() -> Bool { Bool.random(using: &random) }
    mutating func word(_ max: Int = 12) -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789-_")
        return String((0..<int(1...max)).map { _ in letters[int(0...letters.count - 1)] })
    }
    /// None to three tags, with values that hold `=`, `,` and more than ASCII.
    mutating func tags() -> MemberTags {
        var pairs: [String: String] = [:]
        for _ in 0..<int(0...3) { pairs[word(8)] = [word(), "a=b,c", "zoné \(word(4))", ""][int(0...3)] }
        return try! MemberTags(pairs)
    }
    mutating func node() -> NodeID { NodeID(unchecked: "node-" + word(8)) }
    mutating func address() -> PeerAddress {
        PeerAddress("10.\(int(0...255)).\(int(0...255)).\(int(0...255)):\(int(1...65535))")
    }
    mutating func metadataAddress() -> MetadataAddress {
        MetadataAddress(unchecked: "ucxl://\(word()):\(word())@p/\(word())")
    }
    mutating func clock() -> VectorClock {
        var counters: [NodeID: UInt64] = [:]
        for _ in 0..<int(1...4) { counters[node()] = UInt64(int(1...100_000)) }
        return VectorClock(counters)
    }
    mutating func json(depth: Int = 0) -> JSONValue {
        switch int(0...(depth > 2 ? 3 : 5)) {
        case 0: return .null
        case 1: return .bool(bool())
        case 2: return .number(bool() ? Double(int(-1_000_000...1_000_000)) : Double(int(-1000...1000)) / 8)
        case 3: return .string(word(20) + (bool() ? "é\n\"" : ""))
        case 4: return .array((0..<int(0...3)).map { _ in json(depth: depth + 1) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<int(0...3) { members[word()] = json(depth: depth + 1) }
            return .object(members)
        }
    }
    mutating func version() -> ContextMetadata {
        let deleted = int(0...5) == 0
        return ContextMetadata(
            address: metadataAddress(), value: deleted ? nil : (bool() ? json() : nil),
            status: deleted ? .deleted : (bool() ? .active : .deprecated), roles: (0..<int(0...2)).map { _ in word() },
            replicationNodes: (0..<int(0...2)).map { _ in word() }, vectorClock: clock(), updatedBy: node(),
            lastUpdated: Instant(nanoseconds: Int64(int(0...2_000_000_000)) * 1_000_000_000))
    }
    mutating func rumor() -> MemberRumor {
        let status = [MemberStatus.alive, .suspect, .failed, .left][int(0...3)]
        return MemberRumor(
            subject: node(), address: address(), incarnation: u64(), status: status,
            reporter: status == .alive ? nil : node(),
            heartbeat: bool()
                ? NodeHeartbeat(
                    sequence: u64(), load: Double(int(0...100)) / 7, version: "1.0.\(int(0...9))",
                    capabilities: [word(), word()], tags: tags())
                : nil)
    }
    mutating func payload(_ type: GossipMessageType) -> Payload {
        switch type {
        case .keyring:
            let operation = KeyringOperation.allCases[int(0...3)]
            if bool() {
                let sealed = (0..<(operation == .list ? 0 : 60)).map { _ in UInt8(int(0...255)) }
                return .keyring(.request(KeyringRequest(id: u64(), operation: operation, sealedKey: sealed)))
            }
            return .keyring(
                .response(
                    KeyringResponse(
                        id: u64(), refusal: bool() ? nil : "not installed: " + word(), primary: word(16),
                        keys: (0..<int(1...3)).map { _ in word(16) })))
        case .heartbeat: return .heartbeat(rumor())
        case .contextUpdate: return .contextUpdate(version())
        case .conflictAlert:
            let a = metadataAddress()
            return .conflictAlert(
                ConflictAlert(
                    address: a,
                    versions: (0..<int(1...3)).map { _ in
                        var v = version(); v.address = a; return v
                    }))
        case .peerDiscovery:
            switch int(0...3) {
            case 0: return .peerDiscovery(.request(members: (0..<int(0...5)).map { _ in rumor() }))
            case 1: return .peerDiscovery(.response(members: (0..<int(0...5)).map { _ in rumor() }))
            case 2: return .peerDiscovery(.digest(u64()))
            default: return .peerDiscovery(.inSync)
            }
        case .healthCheck:
            switch int(0...3) {
            case 0: return .healthCheck(.ping(sequence: u64(), target: node()))
            case 1: return .healthCheck(.ack(sequence: u64(), incarnation: u64()))
            case 2: return .healthCheck(.pingRequest(sequence: u64(), target: node(), address: address()))
            default: return .healthCheck(.nack(sequence: u64()))
            }
        case .metadataSync:
            let step: SyncStep
            switch int(0...5) {
            case 0: step = .root(digest: u64(), entryCount: int(0...1_000_000))
            case 1: step = .inSync
            case 2:
                let bits = int(0...4)
                step = .buckets(BucketDigest(bits: bits, hashes: (0..<(1 << bits)).map { _ in u64() }))
            case 3:
                step = .summaries(
                    bits: 4, buckets: (0..<int(0...4)).map { _ in int(0...15) },
                    summaries: (0..<int(0...4)).map { _ in EntrySummary(address: metadataAddress(), hash: u64()) })
            case 4:
                step = .push(
                    versions: (0..<int(0...3)).map { _ in version() },
                    request: (0..<int(0...3)).map { _ in metadataAddress() },
                    deferred: (0..<int(0...3)).map { _ in int(0...15) })
            default: step = .entries((0..<int(0...3)).map { _ in version() })
            }
            return .metadataSync(SyncMessage(session: u64(), step: step))
        }
    }
    mutating func message(_ type: GossipMessageType, sender: NodeID) -> GossipMessage {
        GossipMessage(
            id: u64(), sender: sender, timestamp: Instant(nanoseconds: Int64(int(0...2_000_000_000)) * 1_000_000_000),
            ttl: UInt8(int(0...255)), vectorClock: bool() ? clock() : VectorClock(), payload: payload(type),
            metadata: MessageMetadata(
                priority: Priority.allCases[int(0...3)], reliability: bool(), encrypted: bool(), compressed: bool(),
                originalSize: int(0...100_000), compressionType: bool() ? "gzip" : nil))
    }
}
