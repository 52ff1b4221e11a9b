import HearsayCore
import HearsayWire
import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// What the node tells the engine (frames, timers, errors) and what it does with the
/// engine's effects: sends, timers, logs, writes to disk.
extension Node {
    /// Protocol time for an engine event (monotonic), after telling the engine what the
    /// wall clock reads, so that the stamps the event makes follow it. Read it before the
    /// call it is for: in `engine.f(now: clockNow())`, a non-mutating `f` would run on a
    /// copy of the engine taken before the wall clock was set.
    func clockNow() -> Instant {
        let now = SystemClock.monotonic()
        engine.setWallClock(SystemClock.wall(), at: now)
        return now
    }

    func timerFired(_ timer: Timer) {
        guard phase == .running || phase == .leaving else { return }
        let now = clockNow()
        perform(engine.timerFired(timer, now: now))
    }

    /// Opens a received frame and hands its messages to the engine. Returns whether the
    /// frame passed every wire check (its drop is counted when not), and false while the
    /// node does not run.
    @discardableResult
    func frameArrived(_ bytes: [UInt8], from: SocketAddress?, transport: Transport) -> Bool {
        metrics.received(bytes: bytes.count, via: transport)
        guard phase == .running || phase == .leaving else { return false }
        let now = clockNow()
        let frame: Frame
        do {
            frame = try codec.open(bytes, nowMillis: engine.wallClock(at: now).milliseconds, via: transport)
        } catch {
            frameRejected(error, from: from, transport: transport)
            return false
        }
        metrics.received(frame.messages)
        var messages = frame.messages
        if messages.contains(where: { $0.type == .keyring }) {
            // Keys are the node's business, not the engine's (`Node+KeyringRequests`).
            for message in messages where message.type == .keyring {
                keyringMessage(message, frame: frame, from: Self.peerAddress(from))
            }
            messages.removeAll { $0.type == .keyring }
            if messages.isEmpty { return true }
        }
        perform(engine.receive(messages, from: Self.peerAddress(from), transport: transport, now: now))
        return true
    }

    func frameRejected(_ error: WireError, from: SocketAddress?, transport: Transport) {
        let now = clockNow()
        let reason = DropReason(rawValue: error.reason) ?? .decodeError
        perform(
            engine.recordRejectedFrame(
                reason: reason, detail: "\(error.detail)",
                from: Self.peerAddress(from),
                transport: transport, now: now))
    }

    func transportError(_ error: any Error, context: String) {
        let now = clockNow()
        perform(engine.recordNetworkError(now: now))
        logRateLimited(.warning, "network_error", "\(context): \(error)", key: "net_\(context)")
    }

    /// A stream to a member this node holds failed or left is expected to fail: every
    /// gossip round tries to reconnect to one, in case a partition healed. Counting those
    /// as network errors would hide real trouble behind one error a round for as long as
    /// the tombstone is kept.
    func streamSendFailed(_ error: any Error, to peer: PeerAddress) {
        joinEvidence.unreachable += 1
        joinEvidence.lastError = "\(peer): \(error)"
        let expected = engine.members.all.contains { $0.address == peer && !$0.status.isLive }
        if expected {
            logger.debug(
                "reconnect to a failed member found nobody",
                metadata: ["event": "reconnect_failed", "address": "\(peer)", "error": "\(error)"])
        } else {
            transportError(error, context: "tcp send")
        }
    }

    func logRateLimited(
        _ level: Logger.Level, _ event: String, _ message: String, key: String, _ fields: Logger.Metadata = [:]
    ) {
        let now = SystemClock.monotonic()
        if let last = lastErrorLog[key], now - last < .seconds(10) { return }
        lastErrorLog[key] = now
        var metadata = fields
        metadata["event"] = "\(event)"
        logger.log(level: level, "\(message)", metadata: metadata)
    }

    // MARK: Effects

    /// Executes what the engine asked for.
    func perform(_ effects: [Effect]) {
        var leaveCompleted = false
        for effect in effects {
            switch effect {
            case .send(let outbound): send(outbound)
            case .armTimer(let timer, let at): arm(timer, at: at)
            case .metric(let event): metrics.record(event)
            case .log(let record):
                log(record)
                publishMemberEvent(record)
            case .stored(let version):
                logWriter?.append(version)
                wakeWatches(version.address)
                publishMetadataEvent(version, local: committingLocally)
            case .leaveCompleted: leaveCompleted = true
            }
        }
        if engine.incarnation > persistedIncarnation { persistIncarnation() }
        if engine.store.purgedAt != watches.purgedAt { wakePrefixWatches() }
        wakeMemberWatches()
        noteJoined()
        // After the batch, so the leave's own log lines come before "agent stopped".
        if leaveCompleted { finish() }
    }

    private func log(_ record: LogRecord) {
        var metadata: Logger.Metadata = ["event": "\(record.event)"]
        for field in record.fields { metadata[field.key] = "\(field.value)" }
        var message = record.message
        if record.event == "join_timeout" {
            if let hint = joinEvidence.hint {
                message += ": " + hint.advice
                metadata["likely_cause"] = "\(hint.cause)"
            }
            // Each timeout speaks of what happened since the one before.
            joinEvidence = JoinEvidence()
        }
        logger.log(level: Logger.Level(record.level), "\(message)", metadata: metadata)
    }

    private func arm(_ timer: Timer, at: Instant) {
        let delay = max(0, (at - SystemClock.monotonic()).nanoseconds)
        eventLoop.scheduleTask(in: .nanoseconds(delay)) { [self] in
            self.assumeIsolated { $0.timerFired(timer) }
        }
    }

    private func send(_ outbound: Outbound) {
        guard let target = socketAddress(outbound.to) else {
            transportError(ResolutionError(host: outbound.to.rawValue, reason: "not an IP address"), context: "send")
            return
        }
        let nowMillis = SystemClock.wall().milliseconds
        switch outbound.transport {
        case .datagram:
            let frame = codec.seal(outbound.messages, nowMillis: nowMillis, via: .datagram)
            metrics.sent(outbound.messages, bytes: frame.count, via: .datagram)
            guard let udp else { return }
            let envelope = AddressedEnvelope(remoteAddress: target, data: udp.allocator.buffer(bytes: frame))
            udp.writeAndFlush(envelope).whenFailure { [self] error in
                self.assumeIsolated { $0.transportError(error, context: "udp send") }
            }
        case .stream:
            let bytes = codec.sealStream(outbound.messages, nowMillis: nowMillis)
            metrics.sent(outbound.messages, bytes: bytes.count, via: .stream)
            sendStream(bytes, to: outbound.to, target: target)
        }
    }

    /// Writes sealed stream frames to `peer`: back on the connection it opened to this
    /// node when one is open (an answer to a sender that is not a member yet), else on a
    /// new connection, whose answers are read until the peer closes it.
    func sendStream(_ bytes: [UInt8], to peer: PeerAddress, target: SocketAddress? = nil) {
        if let inbound = inboundStreams[peer]?.last {
            inbound.writeAndFlush(inbound.allocator.buffer(bytes: bytes)).whenFailure { [self] error in
                self.assumeIsolated { $0.transportError(error, context: "tcp answer") }
            }
            return
        }
        guard let target = target ?? socketAddress(peer) else {
            transportError(ResolutionError(host: peer.rawValue, reason: "not an IP address"), context: "send")
            return
        }
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.seconds(3))
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try self.addStreamHandlers(channel, accepted: false) }
            }
            .connect(to: target)
            .flatMap { channel in
                // Written, the output is shut; answers are read until the peer closes.
                channel.writeAndFlush(channel.allocator.buffer(bytes: bytes)).flatMap {
                    channel.close(mode: .output)
                }.flatMapErrorThrowing { error in
                    channel.close(promise: nil)
                    throw error
                }
            }
            .whenFailure { [self] error in
                self.assumeIsolated { $0.streamSendFailed(error, to: peer) }
            }
    }

    /// The pipeline of a gossip TCP connection, accepted or opened: frames both ways,
    /// within the limits `StreamFrameReader` keeps.
    nonisolated func addStreamHandlers(_ channel: any Channel, accepted: Bool) throws {
        // Small reads until a frame authenticates the connection (StreamFrameReader).
        try channel.syncOptions?.setOption(
            .recvAllocator,
            value: FixedSizeRecvByteBufferAllocator(capacity: StreamFrameReader.unauthenticatedReadBytes))
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(
            ByteToMessageHandler(
                StreamFrameReader(
                    node: self, maxFrameBytes: settings.maxStreamFrameBytes, timeout: settings.streamTimeout)))
        try sync.addHandler(StreamHandler(node: self, accepted: accepted))
    }

    /// A connection this node opened ended before any valid frame came back.
    func streamEndedUnanswered() {
        joinEvidence.closedUnanswered += 1
    }

    /// An accepted gossip connection is open: answers to its sender may go back on it.
    func streamOpened(_ channel: any Channel, from address: SocketAddress) {
        inboundStreams[Self.peerAddress(address), default: []].append(channel)
    }

    func streamClosed(_ channel: any Channel, from address: SocketAddress) {
        let key = Self.peerAddress(address)
        inboundStreams[key]?.removeAll { $0 === channel }
        if inboundStreams[key]?.isEmpty == true { inboundStreams[key] = nil }
    }

    private func socketAddress(_ peer: PeerAddress) -> SocketAddress? {
        if let known = socketAddresses[peer] { return known }
        guard let parsed = try? HostPort(parsing: peer.rawValue, defaultPort: nil, setting: "peer"),
            let address = try? SocketAddress(ipAddress: parsed.host, port: parsed.port)
        else { return nil }
        if socketAddresses.count > 65_536 { socketAddresses.removeAll() }
        socketAddresses[peer] = address
        return address
    }

    /// A sender's address as the engine names it; "unknown" when the socket gave none.
    static func peerAddress(_ address: SocketAddress?) -> PeerAddress {
        PeerAddress(address.map(text) ?? "unknown")
    }

    static func text(_ address: SocketAddress) -> String {
        guard let ip = address.ipAddress, let port = address.port else { return "\(address)" }
        return HostPort(host: ip, port: port).description
    }

    // MARK: Persistence

    /// A disk-thread completion that logs a failure to `what` (rate limited by `key`).
    nonisolated func diskFailureLogger(_ what: String, key: String) -> @Sendable (PersistenceError?) -> Void {
        { [self] failure in
            guard let failure else { return }
            self.assumeIsolated {
                $0.logRateLimited(.error, "persist_failed", "cannot \(what): \(failure)", key: key)
            }
        }
    }

    /// Writes the raised incarnation on the disk thread (three syncs, which a refutation
    /// must not wait for on the event loop). A crash first costs nothing: a new life
    /// starts from the wall clock in milliseconds, above any incarnation a refutation
    /// reached.
    private func persistIncarnation() {
        persistedIncarnation = engine.incarnation
        guard let logWriter, let file = dataDirectory?.identityFile else { return }
        logWriter.writeIdentity(
            NodeIdentity(name: name, incarnation: engine.incarnation), to: file,
            completion: diskFailureLogger("write the node identity", key: "identity"))
    }
}
