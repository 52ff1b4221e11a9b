import HearsayCore
import Testing

@testable import HearsayWire

@Suite struct FrameCodecTests {
    private let now: Int64 = 1_800_000_000_000
    private let keyA = [UInt8](repeating: 0xA1, count: 32)
    private let keyB = [UInt8](repeating: 0xB2, count: 32)
    private let alice = NodeID(unchecked: "node-alice")
    private let bob = NodeID(unchecked: "node-bob")

    private func codec(_ node: NodeID, _ keys: [[UInt8]], encrypt: Bool = false, compress: Bool = true) throws
        -> FrameCodec
    {
        var options = FrameCodec.Options()
        options.encrypt = encrypt
        options.compress = compress
        options.compressionThreshold = 64
        return FrameCodec(
            sender: node, keyring: try Keyring(primary: keys[0], others: Array(keys.dropFirst())), options: options,
            nowMillis: now)
    }

    private func messages(_ seed: UInt64, count: Int = 6) -> [GossipMessage] {
        var samples = MessageSamples(seed: seed)
        return (0..<count).map { samples.message(GossipMessageType.allCases[$0 % 6], sender: alice) }
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func everyTypeRoundTripsWithEachFlag(_ flags: (encrypt: Bool, compress: Bool)) throws {
        let a = try codec(alice, [keyA], encrypt: flags.encrypt, compress: flags.compress)
        let b = try codec(bob, [keyA])
        for seed in 0..<30 {
            let sent = messages(UInt64(seed))
            let frame = try b.open(a.seal(sent, nowMillis: now), nowMillis: now)
            #expect(frame.messages == sent)
            #expect(frame.sender == alice && frame.encrypted == flags.encrypt)
            #expect(frame.compressed == flags.compress, "these bodies compress")
        }
    }

    // Opening decodes into the previous frame's message list once the caller has let go of
    // it: frames still held must keep their messages, whatever is opened after them.
    @Test func heldFramesKeepTheirMessagesWhileLaterFramesAreOpened() throws {
        for compress in [false, true] {
            let a = try codec(alice, [keyA], compress: compress)
            let b = try codec(bob, [keyA])
            var held: [(frame: Frame, sent: [GossipMessage])] = []
            for seed in 0..<40 {
                // 1 to 5 messages, and every tenth frame over a datagram's worth.
                let sent = messages(UInt64(seed), count: seed % 10 == 9 ? 60 : 1 + seed % 5)
                let frame = try b.open(a.seal(sent, nowMillis: now), nowMillis: now)
                #expect(frame.messages == sent)
                if seed % 3 == 0 { held.append((frame, sent)) }
                if seed % 4 == 1 {
                    // Signed, but with a byte after its last message: refused as before.
                    var body = ByteWriter()
                    MessageCodec.encodeBody(messages(UInt64(100 + seed), count: 2), into: &body)
                    body.byte(0)
                    let bad = a.sealPrepared(body: body.bytes, flags: 0, originalSize: 0, nowMillis: now)
                    #expect(throws: WireError.decodeError("1 bytes after the last message")) {
                        try b.open(bad, nowMillis: now)
                    }
                }
            }
            for (frame, sent) in held { #expect(frame.messages == sent) }
        }
    }

    // Frames from one codec share their addresses and clocks through its tables: repeats,
    // and addresses or clocks that take each other's slot, must come out as they were sent.
    @Test func repeatedAndCollidingAddressesRoundTrip() throws {
        let a = try codec(alice, [keyA], compress: false)
        let b = try codec(bob, [keyA])
        let addresses = [
            "ucxl://agent/ctx", "ucxl://aAAAAAAAmmmmmmmmBBBBBBBBzzzzzzzz", "ucxl://aCCCCCCCmmmmmmmmBBBBBBBBzzzzzzzz",
            "ucxl://agent/ct",
        ].map(MetadataAddress.init(unchecked:))
        for round in 0..<24 {
            let version = ContextMetadata(
                address: addresses[round % addresses.count], value: .string("v\(round)"), status: .active,
                vectorClock: VectorClock([alice: UInt64(round % 5 + 1), bob: UInt64(round % 2)]), updatedBy: alice,
                lastUpdated: Instant(nanoseconds: now * 1_000_000))
            let alert = ConflictAlert(address: addresses[(round + 1) % addresses.count], versions: [version])
            let sent = [
                GossipMessage(
                    id: UInt64(round), sender: alice, timestamp: Instant(nanoseconds: now * 1_000_000), ttl: 3,
                    vectorClock: version.vectorClock, payload: .contextUpdate(version), metadata: MessageMetadata()),
                GossipMessage(
                    id: UInt64(round), sender: alice, timestamp: Instant(nanoseconds: now * 1_000_000), ttl: 3,
                    payload: .conflictAlert(alert), metadata: MessageMetadata()),
            ]
            #expect(try b.open(a.seal(sent, nowMillis: now), nowMillis: now).messages == sent)
        }
    }

    @Test func flippingAnyByteOfASignedFrameIsRejected() throws {
        for encrypt in [false, true] {
            let a = try codec(alice, [keyA], encrypt: encrypt)
            let frame = a.seal(messages(3, count: 3), nowMillis: now)
            for i in frame.indices {
                var bad = frame
                bad[i] ^= 0x01
                let b = try codec(bob, [keyA])
                #expect(throws: WireError.self) { try b.open(bad, nowMillis: now) }
            }
        }
    }

    @Test func truncationAtEveryLengthIsRejected() throws {
        let a = try codec(alice, [keyA])
        let frame = a.seal(messages(4, count: 2), nowMillis: now)
        for length in 0..<frame.count {
            let b = try codec(bob, [keyA])
            #expect(throws: WireError.self) { try b.open(Array(frame[0..<length]), nowMillis: now) }
        }
    }

    @Test func anUnknownKeyAndAWrongKeyAreToldApart() throws {
        let a = try codec(alice, [keyA])
        let frame = a.seal(messages(5, count: 1), nowMillis: now)
        let stranger = try codec(bob, [keyB])
        #expect(throws: WireError.unknownKey("key id \(KeyID(of: keyA))")) { try stranger.open(frame, nowMillis: now) }
        // Same key id in the header, wrong signature: bad_signature.
        var forged = frame
        forged[forged.count - 1] ^= 0xFF
        let b = try codec(bob, [keyA])
        #expect(throws: WireError.badSignature("HMAC does not match")) { try b.open(forged, nowMillis: now) }
    }

    @Test func keysRotateWithoutDowntime() throws {
        // Install B everywhere, switch signing to B, remove A.
        let oldFrame = try codec(alice, [keyA]).seal(messages(6, count: 1), nowMillis: now)
        let receiver = try codec(bob, [keyA, keyB])
        // Each codec stands for one process; a later one numbers its frames higher.
        let rotated = FrameCodec(sender: alice, keyring: try Keyring(primary: keyB, others: [keyA]), nowMillis: now + 1)
        let newFrame = rotated.seal(messages(7, count: 1), nowMillis: now + 1)
        #expect(try receiver.open(oldFrame, nowMillis: now).keyID == KeyID(of: keyA))
        #expect(try receiver.open(newFrame, nowMillis: now).keyID == KeyID(of: keyB))
        var ring = try Keyring(primary: keyA, others: [keyB])
        try ring.use(keyB)
        try ring.remove(keyA)
        receiver.update(keyring: ring)
        let stale = FrameCodec(sender: alice, keyring: try Keyring(primary: keyA), nowMillis: now + 2)
        let late = stale.seal(messages(8, count: 1), nowMillis: now + 2)
        #expect(throws: WireError.unknownKey("key id \(KeyID(of: keyA))")) { try receiver.open(late, nowMillis: now) }
        #expect(
            try receiver.open(rotated.seal(messages(9, count: 1), nowMillis: now + 3), nowMillis: now).keyID
                == KeyID(of: keyB))
    }

    @Test func aReplayedFrameIsRejectedAndSoIsAnOldOne() throws {
        let a = try codec(alice, [keyA])
        let b = try codec(bob, [keyA])
        let frame = a.seal(messages(9, count: 1), nowMillis: now)
        _ = try b.open(frame, nowMillis: now)
        #expect(throws: WireError.replay("duplicate sequence")) { try b.open(frame, nowMillis: now) }
        let old = a.seal(messages(10, count: 1), nowMillis: now - 10 * 60 * 1000)
        #expect(throws: WireError.self) { try b.open(old, nowMillis: now) }
    }

    @Test func aStreamFrameOvertakenByThousandsOfDatagramsIsNotAReplay() throws {
        let a = try codec(alice, [keyA])
        let b = try codec(bob, [keyA])
        // Sealed first, delivered last: a stream frame waits for its connection while
        // the datagrams sealed after it arrive.
        let stream = a.seal(messages(13, count: 1), nowMillis: now, via: .stream)
        for i in 0..<3000 {
            _ = try b.open(a.seal(messages(UInt64(i), count: 1), nowMillis: now), nowMillis: now)
        }
        #expect(throws: Never.self) { try b.open(stream, nowMillis: now) }
        // Its own replay is still refused.
        #expect(throws: WireError.replay("duplicate sequence")) { try b.open(stream, nowMillis: now) }
    }

    @Test func aDatagramLargerThanAnySenderSealsIsTooLargeWhateverItHolds() throws {
        let a = try codec(alice, [keyA], compress: false)
        let b = try codec(bob, [keyA])
        var count = 1
        var frame = a.seal(messages(21, count: count), nowMillis: now)
        while frame.count <= WireLimits.maxDatagramBytes {
            count += 1
            frame = a.seal(messages(21, count: count), nowMillis: now)
        }
        // Signed and well formed, but no sender seals a datagram this large.
        #expect(throws: WireError.self) { try b.open(frame, nowMillis: now, via: .datagram) }
        do {
            _ = try b.open(frame, nowMillis: now, via: .datagram)
        } catch {
            #expect(error.reason == "too_large")
        }
        // The same frame is fine on a stream.
        #expect(throws: Never.self) { try b.open(frame, nowMillis: now, via: .stream) }
    }

    @Test func aRestartedSenderIsNotTakenForAReplay() throws {
        let b = try codec(bob, [keyA])
        _ = try b.open(try codec(alice, [keyA]).seal(messages(11, count: 1), nowMillis: now), nowMillis: now)
        // Same name, new process a second later: its counter starts above the old one.
        let restarted = FrameCodec(sender: alice, keyring: try Keyring(primary: keyA), nowMillis: now + 1000)
        #expect(throws: Never.self) {
            try b.open(restarted.seal(messages(12, count: 1), nowMillis: now + 1000), nowMillis: now + 1000)
        }
    }

    @Test func aSmallFrameThatInflatesPastTheCapIsRejected() throws {
        // A signed frame from a peer holding the key, declaring an honest but huge size.
        let a = try codec(alice, [keyA])
        var writer = ByteWriter()
        writer.varint(1)
        let zeros = [UInt8](repeating: 0, count: 4 * 1024 * 1024)
        let bomb = Compression.deflate(zeros, level: 9)
        #expect(bomb.count < 8 * 1024)
        var options = FrameCodec.Options()
        options.maxDecompressedBytes = 1024 * 1024
        let b = FrameCodec(sender: bob, keyring: try Keyring(primary: keyA), options: options, nowMillis: now)
        let frame = a.sealRawCompressed(bomb, declaredSize: zeros.count, nowMillis: now)
        #expect(throws: WireError.tooLarge("declared inflated size 4194304 exceeds the cap of 1048576")) {
            try b.open(frame, nowMillis: now)
        }
        // Lying about the size does not help: it inflates only up to the declared size.
        let liar = a.sealRawCompressed(bomb, declaredSize: 1000, nowMillis: now + 1)
        #expect(throws: WireError.self) { try b.open(liar, nowMillis: now) }
    }

    @Test func aCompressedDatagramInflatesToADatagramAtMost() throws {
        // Deflate packs at most about 1,000:1, so 1 MiB of zeros is the largest bomb a
        // signed datagram carries; over TCP its declared size is allowed.
        let a = try codec(alice, [keyA])
        let b = try codec(bob, [keyA])
        let zeros = [UInt8](repeating: 0, count: 1024 * 1024)
        let bomb = Compression.deflate(zeros, level: 9)
        let frame = a.sealRawCompressed(bomb, declaredSize: zeros.count, nowMillis: now)
        #expect(frame.count <= WireLimits.maxDatagramBytes)
        #expect(throws: WireError.tooLarge("declared inflated size 1048576 exceeds the cap of 1400")) {
            try b.open(frame, nowMillis: now, via: .datagram)
        }
        // Zeros are no message body, but over TCP they are inflated in full first.
        let error = #expect(throws: WireError.self) { try codec(bob, [keyA]).open(frame, nowMillis: now, via: .stream) }
        #expect(error?.reason == "decode_error", "\(String(describing: error))")
        // Honest datagrams are compressed whole and still open.
        var samples = MessageSamples(seed: 21)
        var batch: [GossipMessage] = []
        let budget = WireLimits.maxDatagramBytes - FrameLayout.maxOverhead(sender: alice)
        while true {
            let next = samples.message(.contextUpdate, sender: alice)
            if MessageCodec.bodySize(batch + [next]) > budget { break }
            batch.append(next)
        }
        let honest = a.seal(batch, nowMillis: now + 1)
        #expect(try b.open(honest, nowMillis: now, via: .datagram).messages.count == batch.count)
    }

    @Test func oversizedAndForeignVersionFramesAreRejected() throws {
        var options = FrameCodec.Options()
        options.maxFrameBytes = 100
        let small = FrameCodec(sender: bob, keyring: try Keyring(primary: keyA), options: options, nowMillis: now)
        let frame = try codec(alice, [keyA]).seal(messages(13, count: 6), nowMillis: now)
        #expect(throws: WireError.self) { try small.open(frame, nowMillis: now) }
        var v2 = frame
        v2[0] = 2
        #expect(throws: WireError.badVersion("version 2, this build reads 1")) {
            try codec(bob, [keyA]).open(v2, nowMillis: now)
        }
    }

    @Test func theReservedOverheadCoversEveryFrame() throws {
        // A datagram's worth of messages plus the reserved overhead fits 1400 bytes.
        let a = try codec(alice, [keyA], encrypt: true, compress: false)
        var samples = MessageSamples(seed: 14)
        var batch: [GossipMessage] = []
        let budget = 1400 - FrameLayout.maxOverhead(sender: alice)
        while true {
            let next = samples.message(.heartbeat, sender: alice)
            if MessageCodec.bodySize(batch + [next]) > budget { break }
            batch.append(next)
        }
        #expect(a.seal(batch, nowMillis: now).count <= 1400)
    }

    @Test func theReservedOverheadCoversTheLongestHeaders() throws {
        // Frame counters and timestamps far out make the header's varints their longest.
        let body = messages(3, count: 40)
        for far in [Int64.max >> 1, Int64.max, Int64.min + 1] {
            for (encrypt, compress) in [(false, false), (true, false), (false, true), (true, true)] {
                var options = FrameCodec.Options()
                options.encrypt = encrypt
                options.compress = compress
                options.compressionThreshold = 1
                let codec = FrameCodec(
                    sender: alice, keyring: try Keyring(primary: keyA), options: options, nowMillis: far)
                let frame = codec.seal(body, nowMillis: far)
                let plain = MessageCodec.bodySize(body)
                // A compressed body is sent only when smaller, so its frame is bounded too.
                #expect(frame.count <= plain + FrameLayout.maxOverhead(sender: alice), "\(far) \(encrypt) \(compress)")
            }
        }
    }

    @Test func streamLengthsAreJudgedBeforeTheFrameIsRead() {
        let small = WireLimits.maxUnauthenticatedStreamFrameBytes
        #expect(StreamFraming.check(length: small, maxFrameBytes: 1 << 20, authenticated: false) == nil)
        #expect(
            StreamFraming.check(length: small + 1, maxFrameBytes: 1 << 20, authenticated: false)?.reason == "too_large")
        #expect(StreamFraming.check(length: small + 1, maxFrameBytes: 1 << 20, authenticated: true) == nil)
        #expect(
            StreamFraming.check(length: (1 << 20) + 1, maxFrameBytes: 1 << 20, authenticated: true)?.reason
                == "too_large")
        #expect(StreamFraming.prefixed([1, 2, 3]) == [0, 0, 0, 3, 1, 2, 3])
    }

    @Test func aLargeStreamFrameComesAfterAnEmptyOne() throws {
        let a = try codec(alice, [keyA], compress: false)
        let b = try codec(bob, [keyA])
        func frames(_ bytes: [UInt8]) -> [[UInt8]] {
            var out: [[UInt8]] = []
            var at = 0
            while at < bytes.count {
                let n = bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) }
                out.append(Array(bytes[at + 4..<at + 4 + n]))
                at += 4 + n
            }
            return out
        }
        var samples = MessageSamples(seed: 3)
        let few = [samples.message(.heartbeat, sender: alice)]
        #expect(frames(a.sealStream(few, nowMillis: now)).count == 1)
        var many: [GossipMessage] = []
        while MessageCodec.bodySize(many) <= WireLimits.maxUnauthenticatedStreamFrameBytes {
            many.append(samples.message(.contextUpdate, sender: alice))
        }
        let sent = frames(a.sealStream(many, nowMillis: now))
        try #require(sent.count == 2)
        #expect(sent[0].count <= WireLimits.maxUnauthenticatedStreamFrameBytes)
        #expect(sent[1].count > WireLimits.maxUnauthenticatedStreamFrameBytes)
        #expect(try b.open(sent[0], nowMillis: now).messages.isEmpty)
        #expect(try b.open(sent[1], nowMillis: now).messages.count == many.count)
    }
}

extension FrameCodec {
    /// A frame whose body is `compressed` as given, with a chosen declared size: how a
    /// key holder would build a compression bomb.
    func sealRawCompressed(_ compressed: [UInt8], declaredSize: Int, nowMillis: Int64) -> [UInt8] {
        sealPrepared(
            body: compressed, flags: FrameLayout.compressedFlag, originalSize: declaredSize, nowMillis: nowMillis)
    }
}
