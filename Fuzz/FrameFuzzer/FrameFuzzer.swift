import HearsayCore
import HearsayWire

/// The decoder under fuzzing. The first input byte picks the surface: even bytes feed
/// the rest to `FrameCodec.open` (as any network peer can), odd ones straight to the
/// message decoder (what a key holder reaches once the HMAC passes).
enum FrameFuzzing {
    static let key = [UInt8](repeating: 0x5A, count: 32)
    static let now: Int64 = 1_800_000_000_000

    /// Feeds `input` to the decoder; true when it decoded.
    @discardableResult
    static func run(_ input: [UInt8]) -> Bool {
        guard let mode = input.first else { return false }
        let rest = Array(input.dropFirst())
        if mode % 2 == 0 {
            var options = FrameCodec.Options()
            options.maxDecompressedBytes = 1 << 20
            let codec = FrameCodec(
                sender: NodeID(unchecked: "fuzz"), keyring: try! Keyring(primary: key), options: options, nowMillis: now
            )
            return (try? codec.open(rest, nowMillis: now)) != nil
        } else {
            var reader = ByteReader(rest)
            return (try? MessageCodec.decodeBody(&reader, sender: NodeID(unchecked: "fuzz"))) != nil
        }
    }
}

extension FrameFuzzing {
    /// Valid inputs of both kinds, one per message type and frame option, to start from.
    static func seeds() -> [[UInt8]] {
        let sender = NodeID(unchecked: "fuzz")
        let version = ContextMetadata(
            address: MetadataAddress(unchecked: "app/x"), value: .object(["k": .array([.number(1), .string("v")])]),
            status: .active, roles: ["r"], replicationNodes: ["n"], vectorClock: VectorClock([sender: 2]),
            updatedBy: sender, lastUpdated: Instant(nanoseconds: now * 1_000_000))
        let rumor = MemberRumor(
            subject: sender, address: PeerAddress("10.0.0.1:7946"), incarnation: 3, status: .suspect,
            reporter: NodeID(unchecked: "other"),
            heartbeat: NodeHeartbeat(
                sequence: 1, load: 0.5, version: "1", capabilities: ["replication"],
                tags: try! MemberTags(["role": "web", "zone": "a"])))
        let payloads: [Payload] = [
            .heartbeat(rumor), .contextUpdate(version),
            .conflictAlert(ConflictAlert(address: version.address, versions: [version])),
            .peerDiscovery(.request(members: [rumor])),
            .healthCheck(.pingRequest(sequence: 7, target: sender, address: rumor.address)),
            .metadataSync(
                SyncMessage(
                    session: 1,
                    step: .summaries(
                        bits: 2, buckets: [1], summaries: [EntrySummary(address: version.address, hash: 9)]))),
            .metadataSync(
                SyncMessage(session: 1, step: .push(versions: [version], request: [version.address], deferred: [2]))),
            .keyring(.request(KeyringRequest(id: 5, operation: .install, sealedKey: Array(repeating: 7, count: 60)))),
            .keyring(
                .response(KeyringResponse(id: 5, refusal: "not installed", primary: "0a0b0c0d", keys: ["0a0b0c0d"]))),
        ]
        let messages = payloads.enumerated().map { i, payload in
            GossipMessage(
                id: UInt64(i), sender: sender, timestamp: Instant(nanoseconds: now * 1_000_000), ttl: 3,
                vectorClock: VectorClock([sender: 1]), payload: payload, metadata: MessageMetadata())
        }
        var seeds: [[UInt8]] = []
        for message in messages {
            var body = ByteWriter()
            MessageCodec.encodeBody([message], into: &body)
            seeds.append([1] + body.bytes)
        }
        for (encrypt, compress) in [(false, false), (false, true), (true, false), (true, true)] {
            var options = FrameCodec.Options()
            options.encrypt = encrypt
            options.compress = compress
            options.compressionThreshold = 1
            let codec = FrameCodec(
                sender: sender, keyring: try! Keyring(primary: key), options: options, nowMillis: now)
            seeds.append([0] + codec.seal(messages, nowMillis: now))
        }
        return seeds
    }
}

#if FUZZING
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
        FrameFuzzing.run(Array(UnsafeBufferPointer(start: data, count: size)))
        return 0
    }
#else
    /// Without libFuzzer, the target replays inputs: `FrameFuzzer FILE...`.
    @main struct FrameFuzzerReplay {
        static func main() {
            let arguments = Array(CommandLine.arguments.dropFirst())
            if arguments.first == "--write-seeds", arguments.count == 2 {
                let seeds = FrameFuzzing.seeds()
                for (i, seed) in seeds.enumerated() { Files.write(seed, to: "\(arguments[1])/seed-\(i)") }
                print("wrote \(seeds.count) seed inputs to \(arguments[1])")
                return
            }
            var count = 0
            for path in CommandLine.arguments.dropFirst() {
                guard let bytes = Files.read(path) else {
                    print("cannot read \(path)")
                    continue
                }
                FrameFuzzing.run(bytes)
                count += 1
            }
            print("replayed \(count) inputs without a crash")
        }
    }
#endif
