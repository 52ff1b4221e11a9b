import HearsayCore
import HearsayWire

/// The decoder under fuzzing. The first input byte picks the surface:
/// - 0 mod 4 (and 2): the rest goes to `FrameCodec.open`, as any network peer can send it;
/// - 1 mod 4: straight to the message decoder, what a key holder reaches past the HMAC;
/// - 3 mod 4: a sequence of bodies (`runSequence`), each sealed by a key holder and
///   opened by one long-lived codec, whose tables of names, addresses and clocks make
///   each frame's decoding depend on the frames before it.
enum FrameFuzzing {
    static let key = [UInt8](repeating: 0x5A, count: 32)
    static let now: Int64 = 1_800_000_000_000

    /// Feeds `input` to the decoder; true when it decoded (in a sequence: every frame).
    /// A sequence frame that the long-lived codec decodes otherwise than its body decodes
    /// alone traps, which is what the fuzzer looks for.
    @discardableResult
    static func run(_ input: [UInt8]) -> Bool {
        guard let mode = input.first else { return false }
        let rest = Array(input.dropFirst())
        if mode % 4 == 3 {
            let outcome = runSequence(rest)
            precondition(outcome.mismatches.isEmpty, outcome.mismatches.joined(separator: "; "))
            return outcome.frames > 0 && outcome.decoded == outcome.frames
        }
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
    /// The senders of a sequence's frames: the byte after each body's length picks one,
    /// so that runs from one peer and switches between peers both occur.
    static let senders = ["fuzz", "peer-with-a-longer-name", "x"].map { NodeID(unchecked: $0) }

    /// What one sequence did.
    struct SequenceOutcome {
        var frames = 0
        var decoded = 0
        /// Frames the long-lived codec decoded otherwise than their bodies decode alone.
        var mismatches: [String] = []
        /// Metadata addresses the long-lived codec shared with an earlier frame's (the same
        /// string storage): lookups its address table answered.
        var sharedAddresses = 0
    }

    /// Splits `input` into bodies, each a 2-byte little-endian length, a sender byte, then
    /// the body; seals each as its sender and opens it with one long-lived codec, and
    /// decodes the body alone, with no table, as a fresh codec would. The tables are
    /// caches: the two must agree on every frame, both refusing it or both decoding the
    /// same messages.
    static func runSequence(_ input: [UInt8]) -> SequenceOutcome {
        let keyring = try! Keyring(primary: key)
        var options = FrameCodec.Options()
        options.maxDecompressedBytes = 1 << 20
        options.compressionThreshold = 64
        let sealers = senders.map { FrameCodec(sender: $0, keyring: keyring, options: options, nowMillis: now) }
        let receiver = NodeID(unchecked: "receiver")
        let longLived = FrameCodec(sender: receiver, keyring: keyring, options: options, nowMillis: now)
        var outcome = SequenceOutcome()
        var offset = 0
        // The long-lived codec's frames so far, kept so that their strings' storage is not
        // reused, and where that storage is.
        var kept: [Frame] = []
        var storage: Set<UInt> = []
        while offset + 3 <= input.count, outcome.frames < maxSequenceFrames {
            let length = Int(input[offset]) | Int(input[offset + 1]) << 8
            let sealer = sealers[Int(input[offset + 2]) % sealers.count]
            let start = offset + 3
            let end = min(input.count, start + length)
            offset = end
            let body = Array(input[start..<end])
            let frame = sealer.seal(body: body, nowMillis: now)
            // Decoded alone, the body meets no table: what a fresh codec makes of it, at a
            // fraction of the cost of a codec (its keys) per frame.
            var alone = ByteReader(body)
            let expected = try? MessageCodec.decodeBody(&alone, sender: sealer.sender)
            let got = try? longLived.open(frame, nowMillis: now)
            outcome.frames += 1
            if let got {
                outcome.decoded += 1
                for case .contextUpdate(let version) in got.messages.map(\.payload) {
                    guard let place = storageAddress(version.address.rawValue) else { continue }
                    if storage.contains(place) { outcome.sharedAddresses += 1 }
                    storage.insert(place)
                }
                kept.append(got)
            }
            if got?.messages != expected {
                let said = { (messages: [GossipMessage]?) in messages.map { "\($0.count) messages" } ?? "refused" }
                outcome.mismatches.append(
                    "frame \(outcome.frames): the long-lived codec \(said(got?.messages)), the body alone "
                        + "\(said(expected))" + (got != nil && expected != nil ? ", not the same" : ""))
            }
        }
        withExtendedLifetime(kept) {}
        return outcome
    }

    /// The most frames one sequence input makes: each costs a seal, an open and a decode,
    /// so a longer one would slow the fuzzer's other modes down.
    static let maxSequenceFrames = 16

    /// Where a string's bytes are stored, for strings long enough to be stored apart.
    private static func storageAddress(_ text: String) -> UInt? {
        var text = text
        return text.withUTF8 { $0.count > 15 ? UInt(bitPattern: $0.baseAddress) : nil }
    }

    /// One sequence input of `bodies`, sent by `senders[sender]` each.
    static func sequence(_ bodies: [(sender: Int, body: [UInt8])]) -> [UInt8] {
        var input: [UInt8] = [3]
        for (sender, body) in bodies {
            input += [UInt8(body.count & 0xFF), UInt8(body.count >> 8), UInt8(sender)] + body
        }
        return input
    }

    /// Valid inputs of every kind, one per message type and frame option, to start from.
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
        // Sequences that exercise the tables: long addresses, clocks and names repeated
        // across frames and senders.
        seeds.append(sequence(sequenceBodies().enumerated().map { (i, body) in (i % 3, body) }))
        seeds.append(sequence(sequenceBodies().reversed().map { (0, $0) }))
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

extension FrameFuzzing {
    /// Bodies whose messages name long metadata addresses and vector clocks that repeat
    /// from one body to the next, as gossip does.
    static func sequenceBodies() -> [[UInt8]] {
        let writers = senders + [NodeID(unchecked: "writer-3")]
        var bodies: [[UInt8]] = []
        for round in 0..<6 {
            var messages: [GossipMessage] = []
            for i in 0..<3 {
                let writer = writers[(round + i) % writers.count]
                let address = MetadataAddress(
                    unchecked: "ucxl://agent:role@project:task/context-\((round * 3 + i) % 5)")
                var counters = [writers[0]: UInt64(7)]
                counters[writer, default: 0] += UInt64(1 + round % 2)
                let clock = VectorClock(counters)
                let version = ContextMetadata(
                    address: address, value: .string("v\(round)"), status: .active, roles: [], replicationNodes: [],
                    vectorClock: clock, updatedBy: writer, lastUpdated: Instant(nanoseconds: now * 1_000_000))
                let payload: Payload =
                    i == 2
                    ? .metadataSync(
                        SyncMessage(session: 9, step: .push(versions: [version], request: [address], deferred: [])))
                    : .contextUpdate(version)
                messages.append(
                    GossipMessage(
                        id: UInt64(round * 3 + i), sender: writer, timestamp: Instant(nanoseconds: now * 1_000_000),
                        ttl: 3, vectorClock: clock, payload: payload, metadata: MessageMetadata()))
            }
            var body = ByteWriter()
            MessageCodec.encodeBody(messages, into: &body)
            bodies.append(body.bytes)
        }
        return bodies
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
