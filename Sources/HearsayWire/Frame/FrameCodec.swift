import HearsayCore

/// Seals messages into signed frames and opens received frames, checking everything
/// before any message reaches the engine.
///
/// Sealing: encode the messages; compress when asked and worthwhile; encrypt when asked
/// (AES-256-GCM, fresh random nonce, the header as associated data); append
/// HMAC-SHA256 of everything before it. Opening reverses this in the order that keeps
/// forgeries cheap to refuse: size, version, key id, HMAC (constant time), replay
/// window, decryption, capped decompression, decoding.
///
/// Holds a prepared HMAC context per key and the replay window, so it is confined to
/// one isolation domain (not `Sendable`).
package final class FrameCodec {
    /// Options for sealing and limits for opening.
    package struct Options: Sendable {
        /// Encrypt every frame (the `encrypted` flag).
        package var encrypt = false
        /// Compress bodies of at least `compressionThreshold` bytes (the `compressed` flag).
        package var compress = true
        /// Smaller bodies are sent as they are: deflate would not pay for its header.
        package var compressionThreshold = 256
        /// The largest body a compressed frame may inflate to.
        package var maxDecompressedBytes = 16 * 1024 * 1024
        /// The largest frame accepted.
        package var maxFrameBytes = WireLimits.defaultMaxStreamFrameBytes

        /// The defaults: compression on, encryption off.
        package init() {}
    }

    // The mutable properties below are `@exclusivity(unchecked)`: Swift otherwise checks at
    // run time that no two accesses to one of them overlap, which cost two calls into the
    // runtime per frame opened (about 190 instructions, a fifth of opening beyond the HMAC
    // and the messages). Such an overlap cannot happen here: the codec is not `Sendable`, so
    // one isolation domain uses it at a time, and none of its methods calls code that could
    // reach the codec again (no callbacks, delegates or closures from the caller) while it
    // reads or modifies a property. The compiler's static checks still apply.

    /// This node's name, written into every frame.
    package let sender: NodeID
    /// Sealing options and opening limits.
    @exclusivity(unchecked) package var options: Options
    /// Frames from a sender seen before, too old or from the future are refused.
    @exclusivity(unchecked) package private(set) var replay: ReplayWindow
    @exclusivity(unchecked) private var keys: [FrameKeys]
    @exclusivity(unchecked) private var nextSequence: UInt64
    @exclusivity(unchecked) private var nextStreamSequence: UInt64
    // The sender of the last frame opened.
    @exclusivity(unchecked) private var lastSender: KnownName?
    // The message list of the last datagram-sized frame opened. The caller usually lets go
    // of a frame's messages before it opens the next frame; the next frame's messages then
    // go into this list's buffer instead of a new one (an allocation and a release less per
    // frame). A list the caller still holds is shared, and it never changes under the caller.
    @exclusivity(unchecked) private var messageList: [GossipMessage] = []
    // Metadata addresses received lately, lent to each frame's reader.
    @exclusivity(unchecked) private var addresses = AddressTable(slotCount: 64)
    // Vector clocks received lately, lent to each frame's reader.
    @exclusivity(unchecked) private var clocks = ClockTable(slotCount: 64)

    /// A codec for `sender` signing with `keyring`'s primary key and accepting all its
    /// keys. `nowMillis` seeds the frame counter (milliseconds x 4096), so that a node
    /// restarted under the same name keeps numbering above its previous life and its new
    /// frames are not taken for replays.
    package init(
        sender: NodeID, keyring: Keyring, options: Options = Options(), nowMillis: Int64,
        replay: ReplayWindow = ReplayWindow()
    ) {
        self.sender = sender
        self.options = options
        self.replay = replay
        self.keys = keyring.keys.map(FrameKeys.init)
        self.nextSequence = UInt64(max(0, nowMillis)) << 12
        self.nextStreamSequence = nextSequence
    }

    /// Takes the keys of a changed keyring (rotation): the primary signs from now on,
    /// and every key verifies.
    package func update(keyring: Keyring) {
        keys = keyring.keys.map(FrameKeys.init)
    }

    /// Forgets every sender's replay state (benchmarks re-open the same frames).
    package func resetReplayWindow() {
        replay = ReplayWindow(
            maxAgeMillis: replay.maxAgeMillis, maxFutureSkewMillis: replay.maxFutureSkewMillis,
            maxSenders: replay.maxSenders)
    }

    /// The key ids accepted, the signing one first.
    package var keyIDs: [KeyID] { keys.map(\.id) }

    // MARK: Sealing

    /// Seals `messages` into one frame at `nowMillis`, to be sent `via` a transport.
    ///
    /// Datagram and stream frames are numbered in two sequences (the stream one has
    /// `ReplayWindow.streamBit` set), which receivers' replay windows track apart: a stream
    /// frame waits for its connection and for every byte before it, while datagrams
    /// sealed after it race ahead; numbered in one sequence, a busy sender's stream frames
    /// fell below the window and were dropped as replays.
    package func seal(_ messages: [GossipMessage], nowMillis: Int64, via transport: Transport = .datagram) -> [UInt8] {
        seal(messages, nowMillis: nowMillis, via: transport, key: 0)
    }

    /// `seal`, signed (and encrypted) with the keyring's key at index `key`.
    private func seal(_ messages: [GossipMessage], nowMillis: Int64, via transport: Transport, key: Int) -> [UInt8] {
        let size = MessageCodec.bodySize(messages)
        if !options.encrypt, !options.compress || size < options.compressionThreshold {
            // The common case: messages go straight into the frame buffer, signed in place.
            var frame = ByteWriter(capacity: size + FrameLayout.maxOverhead(sender: sender))
            writeHeader(&frame, flags: 0, originalSize: 0, nowMillis: nowMillis, via: transport, key: key)
            MessageCodec.encodeBody(messages, into: &frame)
            return signed(&frame, key: key)
        }
        var body = ByteWriter(capacity: size)
        MessageCodec.encodeBody(messages, into: &body)
        return seal(body: body.bytes, nowMillis: nowMillis, via: transport, key: key)
    }

    /// Seals `messages` for a TCP connection: the frame with its length prefix, after an
    /// empty frame when it is larger than a receiver takes from a connection that has not
    /// yet shown a valid frame (`WireLimits.maxUnauthenticatedStreamFrameBytes`). The
    /// empty frame costs one header and HMAC, about 60 bytes, and only large frames pay.
    ///
    /// `signingWith` picks another of the keyring's keys than the primary, for a peer that
    /// may not have the primary yet (a keyring request to a member that missed a
    /// rotation); nil, or a key not in the keyring, signs with the primary.
    package func sealStream(_ messages: [GossipMessage], nowMillis: Int64, signingWith keyID: KeyID? = nil) -> [UInt8] {
        let key = keyID.flatMap { id in keys.firstIndex { $0.id == id } } ?? 0
        // Judged by the body before compression, which only shrinks it: the empty frame is
        // sealed first, so that its sequence comes before the frame's.
        let largest = MessageCodec.bodySize(messages) + FrameLayout.maxOverhead(sender: sender)
        guard largest > WireLimits.maxUnauthenticatedStreamFrameBytes else {
            return StreamFraming.prefixed(seal(messages, nowMillis: nowMillis, via: .stream, key: key))
        }
        let introduction = seal([], nowMillis: nowMillis, via: .stream, key: key)
        let frame = seal(messages, nowMillis: nowMillis, via: .stream, key: key)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(2 * StreamFraming.prefixBytes + introduction.count + frame.count)
        StreamFraming.append(introduction, to: &bytes)
        StreamFraming.append(frame, to: &bytes)
        return bytes
    }

    /// Seals an encoded compound body, compressing it when that pays. The fuzzer seals
    /// its inputs this way, so that they reach a codec's tables past the signature.
    package func seal(body plain: [UInt8], nowMillis: Int64, via transport: Transport = .datagram, key: Int = 0)
        -> [UInt8]
    {
        if options.compress, plain.count >= options.compressionThreshold {
            let packed = Compression.deflate(plain)
            if packed.count < plain.count {
                return sealPrepared(
                    body: packed, flags: FrameLayout.compressedFlag, originalSize: plain.count, nowMillis: nowMillis,
                    via: transport, key: key)
            }
        }
        return sealPrepared(body: plain, flags: 0, originalSize: 0, nowMillis: nowMillis, via: transport, key: key)
    }

    /// Writes the header, encrypts when configured, and signs. `body` is already
    /// compressed when `flags` says so, and `originalSize` is then its inflated length.
    func sealPrepared(
        body: [UInt8], flags compression: UInt8, originalSize: Int, nowMillis: Int64,
        via transport: Transport = .datagram, key: Int = 0
    ) -> [UInt8] {
        var flags = compression
        if options.encrypt { flags |= FrameLayout.encryptedFlag }
        var frame = ByteWriter(capacity: body.count + FrameLayout.maxOverhead(sender: sender))
        writeHeader(&frame, flags: flags, originalSize: originalSize, nowMillis: nowMillis, via: transport, key: key)
        if options.encrypt {
            let nonce = SecureRandom.bytes(count: AES256GCM.nonceByteCount)
            frame.raw(nonce)
            // The header, nonce included, is bound to the ciphertext.
            frame.raw(AES256GCM.seal(body, key: keys[key].encryption, nonce: nonce, aad: frame.bytes))
        } else {
            frame.raw(body)
        }
        return signed(&frame, key: key)
    }

    private func writeHeader(
        _ frame: inout ByteWriter, flags: UInt8, originalSize: Int, nowMillis: Int64, via transport: Transport,
        key: Int
    ) {
        let sequence: UInt64
        switch transport {
        case .datagram:
            nextSequence += 1
            sequence = nextSequence
        case .stream:
            nextStreamSequence += 1
            sequence = nextStreamSequence | ReplayWindow.streamBit
        }
        frame.byte(WireLimits.protocolVersion)
        frame.byte(flags)
        frame.raw(keys[key].id.bytes)
        frame.string(sender.rawValue)
        frame.varint(sequence)
        frame.zigzag(nowMillis)
        if flags & FrameLayout.compressedFlag != 0 { frame.varint(originalSize) }
    }

    /// Appends the HMAC of everything written and returns the frame.
    private func signed(_ frame: inout ByteWriter, key: Int) -> [UInt8] {
        let mac = keys[key].mac
        // The tag goes to the stack, then after the frame in one copy: appending 32 zeros
        // to sign over in place went through a generic append, byte by byte.
        withUnsafeTemporaryAllocation(byteCount: FrameLayout.macBytes, alignment: 8) { tag in
            frame.withUnsafeMutableBytes { all in mac.authenticate(UnsafeRawBufferPointer(all), into: tag) }
            frame.raw(UnsafeRawBufferPointer(tag))
        }
        return frame.bytes
    }

    // MARK: Opening

    /// Checks and decodes a frame received `via` a transport. Throws the first check it
    /// fails. A datagram is held to `WireLimits.maxDatagramBytes` (what every sender
    /// seals at most), a stream frame to `Options.maxFrameBytes`; the size comes first,
    /// so a datagram the socket cut short (one larger than its receive buffer) is
    /// `too_large`, not a bad signature.
    ///
    /// A compressed datagram may declare at most `WireLimits.maxDatagramBytes` inflated:
    /// senders fill a datagram by its messages' size before compression, so no honest
    /// datagram inflates to more. Under the stream cap instead, one signed datagram of
    /// 1 KiB could make the receiver inflate 16 MiB, about 28 ms of its event loop, long
    /// enough to miss a probe's deadline.
    package func open(_ bytes: [UInt8], nowMillis: Int64, via transport: Transport = .stream) throws(WireError) -> Frame
    {
        if transport == .datagram {
            guard bytes.count <= WireLimits.maxDatagramBytes else {
                throw .tooLarge("datagram of \(bytes.count) bytes or more, limit \(WireLimits.maxDatagramBytes)")
            }
            return try open(
                bytes, nowMillis: nowMillis, verify: true, checkReplay: true,
                inflateCap: min(WireLimits.maxDatagramBytes, options.maxDecompressedBytes))
        }
        return try open(
            bytes, nowMillis: nowMillis, verify: true, checkReplay: true, inflateCap: options.maxDecompressedBytes)
    }

    /// Decodes a frame for people (`hearsay decode`): the replay window is left out, and
    /// without `verify` a frame whose key is unknown or whose signature does not match
    /// is still shown (an encrypted one needs its key). Never use it on network input.
    package func inspect(_ bytes: [UInt8], verify: Bool) throws(WireError) -> Frame {
        try open(bytes, nowMillis: 0, verify: verify, checkReplay: false, inflateCap: options.maxDecompressedBytes)
    }

    private func open(
        _ bytes: [UInt8], nowMillis: Int64, verify: Bool, checkReplay: Bool, inflateCap: Int
    ) throws(WireError) -> Frame {
        guard bytes.count <= options.maxFrameBytes else {
            throw .tooLarge("frame of \(bytes.count) bytes, limit \(options.maxFrameBytes)")
        }
        let minimum = 2 + KeyID.byteCount + 1 + 1 + 1 + FrameLayout.macBytes
        guard bytes.count >= minimum else { throw .truncated("frame of \(bytes.count) bytes") }
        guard bytes[0] == WireLimits.protocolVersion else {
            throw .badVersion("version \(bytes[0]), this build reads \(WireLimits.protocolVersion)")
        }
        let id = KeyID(rawValue: bytes[2..<6].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        let key = keys.first(where: { $0.id == id })
        let signed = bytes.count - FrameLayout.macBytes
        if verify {
            guard let key else { throw .unknownKey("key id \(id)") }
            let authentic = bytes.withUnsafeBytes { all in
                key.mac.isValid(
                    tag: UnsafeRawBufferPointer(rebasing: all[signed...]),
                    for: UnsafeRawBufferPointer(rebasing: all[0..<signed]))
            }
            guard authentic else { throw .badSignature("HMAC does not match") }
        }

        // Authentic from here on: what follows is the sender's doing, not a forger's.
        let flags = bytes[1]
        guard flags & ~(FrameLayout.encryptedFlag | FrameLayout.compressedFlag) == 0 else {
            throw .decodeError("unknown frame flags \(flags)")
        }
        var reader = ByteReader(bytes, range: 6..<signed)
        // Frames come in runs from one peer: its name is then recognised, not rebuilt.
        if let lastSender { reader.remember(sender: lastSender) }
        let sender = try MessageCodec.nodeID(&reader, "sender")
        if lastSender?.name != sender {
            let known = KnownName(sender)
            lastSender = known
            reader.remember(sender: known)
        }
        let sequence = try reader.varint("sequence")
        let timestamp = try reader.zigzag("timestamp")
        let compressed = flags & FrameLayout.compressedFlag != 0
        let encrypted = flags & FrameLayout.encryptedFlag != 0
        let originalSize = compressed ? try reader.int("original size") : 0
        if checkReplay,
            let error = replay.check(
                sender: sender.rawValue, sequence: sequence, timestampMillis: timestamp, nowMillis: nowMillis
            ).error
        {
            throw error
        }
        if !encrypted && !compressed {
            // Decode in place: no copy of the body.
            let decoded = try decodeMessages(&reader, sender: sender)
            return Frame(
                sender: sender, sequence: sequence, timestampMillis: timestamp, keyID: id, encrypted: false,
                compressed: false, originalSize: 0, messages: decoded)
        }
        var body: [UInt8]
        if encrypted {
            guard let key else { throw .unknownKey("key id \(id) is needed to decrypt") }
            let nonce = Array(try reader.raw(AES256GCM.nonceByteCount, "nonce"))
            let header = Array(bytes[0..<reader.offset])
            let sealed = Array(try reader.raw(reader.remaining, "ciphertext"))
            body = try AES256GCM.open(sealed, key: key.encryption, nonce: nonce, aad: header)
        } else {
            body = Array(try reader.raw(reader.remaining, "body"))
        }
        if compressed {
            body = try Compression.inflate(body, declaredSize: originalSize, cap: inflateCap)
        }
        var messages = ByteReader(body)
        if let lastSender { messages.remember(sender: lastSender) }
        let decoded = try decodeMessages(&messages, sender: sender)
        return Frame(
            sender: sender, sequence: sequence, timestampMillis: timestamp, keyID: id, encrypted: encrypted,
            compressed: compressed, originalSize: originalSize, messages: decoded)
    }

    /// The compound body left in `reader`, decoded into the last frame's list when the
    /// caller let go of it.
    private func decodeMessages(_ reader: inout ByteReader, sender: NodeID) throws(WireError) -> [GossipMessage] {
        var messages: [GossipMessage] = []
        swap(&messages, &messageList)
        // Unique: its old messages are released and its buffer kept. Shared (the caller kept
        // the last frame): the first `removeLast` copies it, as any change to a shared array
        // does, and the caller's copy stays as it was. `removeAll(keepingCapacity:)` would go
        // through the generic `replaceSubrange`: about 60 instructions more for one message.
        while !messages.isEmpty { messages.removeLast() }
        let bodyBytes = reader.remaining
        swap(&reader.addresses, &addresses)
        swap(&reader.clocks, &clocks)
        defer {
            swap(&reader.addresses, &addresses)
            swap(&reader.clocks, &clocks)
        }
        try MessageCodec.decodeBody(&reader, rememberedSender: sender, into: &messages)
        // Kept only for bodies that fit a datagram, so that the list holds on to at most
        // a datagram's worth of messages until the next frame.
        if bodyBytes <= WireLimits.maxDatagramBytes { messageList = messages }
        return messages
    }
}
