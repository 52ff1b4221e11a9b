import HearsayCore
import HearsayWire
import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// A running Hearsay node: the engine, its sockets and timers, its store on disk.
///
/// The node is an actor whose executor is its NIO event loop, so the gossip sockets,
/// the HTTP server and the timers, which all run on that loop, call into it
/// synchronously (`assumeIsolated`) with no hop, and the engine (a value) is only ever
/// touched from one thread.
package actor Node {
    /// The event loop everything of this node runs on.
    package nonisolated let eventLoop: any EventLoop
    package nonisolated var unownedExecutor: UnownedSerialExecutor { eventLoop.executor.asUnownedSerialExecutor() }
    /// The validated settings.
    package nonisolated let settings: NodeSettings
    /// This node's name.
    package nonisolated let name: NodeID
    /// The address peers reach it at.
    package nonisolated let advertised: HostPort
    /// Its metrics.
    package nonisolated let metrics: NodeMetrics
    nonisolated let logger: Logger

    var engine: Engine
    let codec: FrameCodec
    var keyring: Keyring
    let dataDirectory: DataDirectory?
    /// The metadata log, written on a thread of its own.
    let logWriter: LogWriter?
    var persistedIncarnation: UInt64
    var udp: (any Channel)?
    var listeners: [any Channel] = []
    /// The address the HTTP API listens on, once started.
    package private(set) var httpAddress: SocketAddress?
    var socketAddresses: [PeerAddress: SocketAddress] = [:]
    /// Accepted gossip TCP connections by their source address, while open.
    var inboundStreams: [PeerAddress: [any Channel]] = [:]
    /// The connection limits and buffer budgets of the gossip and HTTP ports.
    var ports: PortGuards
    var phase: Phase = .created
    var finishWaiters: [CheckedContinuation<Void, Never>] = []
    var leaveWaiters: [CheckedContinuation<Void, Never>] = []
    /// Set while join seeds are configured and none has resolved yet.
    var awaitingFirstJoin: Bool
    /// Whether this node has joined a cluster, is its first member, or needs no join
    /// (no seeds configured); it stays set (see `isReady`).
    var hasJoined: Bool
    var lastErrorLog: [String: Instant] = [:]
    var maintenance: RepeatedTask?
    /// Set while a compaction is queued or running on the disk thread.
    var compacting = false
    /// Set while the broadcasts of committed writes wait to be sent together.
    var spreadScheduled = false
    /// What the connections of the current join attempt showed.
    var joinEvidence = JoinEvidence()
    /// Blocking queries waiting for a change.
    var watches = MetadataWatches()
    /// Event streams and the recent events.
    var events = EventHub()
    /// The `--event-handler`s, once the API they may call answers.
    var eventHandlers: EventHandlers?
    /// Entries in conflict, as event streams were told.
    var conflictedAddresses: Set<MetadataAddress> = []
    /// Set while a local write commits without a disk: its `.stored` effect is local.
    var committingLocally = false
    /// Seconds of maintenance so far (`maintain` runs once a second).
    var maintenanceTicks = 0
    /// Tag changes from the API waiting for the one being written (`Node+Tags`).
    var tagChanges: [TagChange] = []
    /// Set while a tag change is being written.
    var changingTags = false
    /// Cluster-wide keyring operations waiting for answers, by request id.
    var keyringRounds: [UInt64: KeyringRound] = [:]

    enum Phase: Equatable {
        case created, running, leaving, finished
    }

    /// Prepares a node: loads the keyring, opens and replays the data directory, and
    /// creates the engine. Nothing is bound until `start`.
    package init(settings: NodeSettings, eventLoop: any EventLoop, logger baseLogger: Logger) throws(NodeStartError) {
        self.eventLoop = eventLoop
        self.settings = settings
        let now = SystemClock.monotonic()
        let wall = SystemClock.wall()
        let directory: DataDirectory?
        var identity: NodeIdentity?
        do {
            directory = try settings.dataDir.map { path throws(PersistenceError) in try DataDirectory(path: path) }
            identity = try directory?.readIdentity()
        } catch {
            throw .persistence(error)
        }
        // After the data directory, which may hold the keyring file the key seeds.
        let (keyring, keyringSource) = try Self.loadKeyring(settings)
        let name: NodeID
        if let configured = settings.name {
            if let stored = identity?.name, stored != configured {
                throw .identityMismatch(stored: stored, configured: configured, directory: settings.dataDir ?? "")
            }
            name = configured
        } else {
            name = identity?.name ?? Self.hostName()
        }
        // A new life must outrank every rumor about the previous one, even without a data
        // directory (a rescheduled pod): the wall clock in milliseconds is above any
        // incarnation an earlier life reached, since refuting takes one step at a time.
        let incarnation = max((identity?.incarnation ?? 0) + 1, UInt64(max(0, wall.milliseconds)))
        var config = EngineConfig(nodeID: name, address: settings.advertisedAddress.peerAddress)
        config.version = BuildInfo.version
        config.gossipInterval = settings.gossipInterval
        config.probeInterval = settings.probeInterval
        config.probeTimeout = settings.probeTimeout
        config.gossipNodes = settings.gossipNodes
        config.maxGossipPeers = settings.maxGossipPeers
        config.messageBufferSize = settings.messageBufferSize
        config.tags = try Self.startTags(settings, directory)
        config.capabilities.append(Self.keyringCapability)
        config.frameOverheadBytes = FrameLayout.maxOverhead(sender: name)
        // A page, its bucket lists and the frame's overhead stay well inside a stream frame.
        config.syncPageBytes = min(config.syncPageBytes, settings.maxStreamFrameBytes / 4)
        var store = MetadataStore(limits: config.metadataLimits)
        var metadataLog: MetadataLog?
        var logger = baseLogger
        logger[metadataKey: "node"] = "\(name)"
        do {
            if let directory {
                // The identity's write below syncs the directory: one sync for a new
                // log's name and the identity's.
                let (log, recovery) = try directory.openLog(deferringDirectorySync: true)
                for version in recovery.versions { _ = store.apply(version) }
                metadataLog = log
                if recovery.wasEmpty {
                    logger.warning(
                        "the metadata log was empty (0 bytes): started a new one; peers fill the store",
                        metadata: ["event": "log_recovered", "bytes": "0", "reason": "empty"])
                }
                if recovery.lostBytes > 0 {
                    logger.error(
                        "the metadata log is shorter than it was: acknowledged writes were lost from outside (a cut or a partial copy); peers fill the store",
                        metadata: [
                            "event": "log_data_loss", "lost_bytes": "\(recovery.lostBytes)",
                            "bytes": "\(log.byteSize)", "records": "\(recovery.versions.count)",
                        ])
                } else if recovery.truncatedBytes > 0 {
                    logger.warning(
                        "cut off a torn last record of the metadata log (never acknowledged)",
                        metadata: ["event": "log_recovered", "bytes": "\(recovery.truncatedBytes)"])
                }
                identity = NodeIdentity(name: name, incarnation: incarnation)
                try directory.writeIdentity(identity!)
            }
        } catch {
            throw .persistence(error)
        }
        do {
            engine = try Engine(
                config: config, incarnation: incarnation, store: store,
                seed: SecureRandom.bytes(count: 8).reduce(0) { $0 << 8 | UInt64($1) }, now: now, wallClock: wall)
        } catch {
            if case .invalidConfig(let invalid) = error { throw .invalidSetting(invalid) }
            throw .invalidSetting(ValidationError(setting: "engine", value: "\(error)", allowed: "valid settings"))
        }
        var options = FrameCodec.Options()
        options.encrypt = settings.encrypt
        options.compress = settings.compress
        options.maxFrameBytes = settings.maxStreamFrameBytes
        codec = FrameCodec(sender: name, keyring: keyring, options: options, nowMillis: wall.milliseconds)
        self.keyring = keyring
        self.name = name
        self.advertised = settings.advertisedAddress
        self.dataDirectory = directory
        self.logWriter = metadataLog.map { LogWriter(log: $0, eventLoop: eventLoop) }
        self.persistedIncarnation = incarnation
        self.awaitingFirstJoin = !settings.join.isEmpty
        self.hasJoined = settings.join.isEmpty
        self.metrics = NodeMetrics(version: BuildInfo.version, protocolVersion: BuildInfo.protocolVersion)
        self.logger = logger
        let descriptors = DescriptorPlan(
            limit: DescriptorPlan.raiseDescriptorLimit(), gossip: settings.maxGossipConnections,
            http: settings.maxHTTPConnections)
        ports = PortGuards(
            gossip: PortGuard(
                connections: ConnectionLimits(
                    maxTotal: descriptors.gossipConnections, maxPerAddress: settings.maxGossipConnectionsPerAddress),
                buffer: ByteBudget(capacity: settings.maxStreamBufferBytes)),
            http: PortGuard(
                connections: ConnectionLimits(
                    maxTotal: descriptors.httpConnections, maxPerAddress: settings.maxHTTPConnectionsPerAddress),
                buffer: ByteBudget(capacity: settings.maxHTTPBufferBytes)))
        if descriptors.lowered {
            logger.warning(
                "the descriptor limit is too low for the connection limits: lowered them to fit",
                metadata: [
                    "event": "connection_limits_lowered", "descriptors": "\(descriptors.limit)",
                    "max_gossip_connections": "\(descriptors.gossipConnections)",
                    "max_http_connections": "\(descriptors.httpConnections)",
                ])
        }
        if let directory, store.count > 0 {
            logger.info(
                "metadata store loaded",
                metadata: ["event": "store_loaded", "entries": "\(store.count)", "dir": "\(directory.path)"])
        }
        switch keyringSource {
        case .seeded(let path):
            logger.notice(
                "wrote the keyring file from the key: key changes are kept there from now on",
                metadata: ["event": "keyring_seeded", "keyring": "\(path)"])
        case .fileOverKey(let path):
            logger.warning(
                "the keyring file does not hold the key given: it was rotated since, and the file is used",
                metadata: ["event": "keyring_key_ignored", "keyring": "\(path)", "primary": "\(keyring.primaryKeyID)"])
        case .key, .file:
            break
        }
    }

    /// Where the keyring came from, for the start's log.
    enum KeyringSource {
        case key, file
        /// The key wrote a new keyring file.
        case seeded(String)
        /// The keyring file existed and did not hold the key.
        case fileOverKey(String)
    }

    /// The keyring: the key alone, or the keyring file. Given both, the key seeds the file
    /// when it does not exist yet and the file is used from then on, as a Consul agent's
    /// keyring in its data directory: keys rotated through the API then survive restarts
    /// of a container whose environment still names the first key.
    static func loadKeyring(_ settings: NodeSettings) throws(NodeStartError) -> (Keyring, KeyringSource) {
        let given: Keyring?
        do {
            given = try settings.key.map { key throws(KeyringError) in try Keyring(primary: key) }
        } catch {
            throw .keyring(path: "--key", reason: "\(error)")
        }
        guard let path = settings.keyringFile else {
            guard let given else { throw .missingKey }
            return (given, .key)
        }
        if let given, !DurableFile.exists(path) {
            do {
                try DurableFile.replace(path, with: Array(given.fileText.utf8), directory: directory(of: path))
            } catch {
                throw .keyring(path: path, reason: "cannot write it from the key: \(error)")
            }
            return (given, .seeded(path))
        }
        let stored: Keyring
        do {
            let bytes = try FileIO.read(path, limit: 1024 * 1024)
            stored = try Keyring(fileText: String(decoding: bytes, as: UTF8.self))
        } catch {
            throw .keyring(path: path, reason: "\(error)")
        }
        if let given, !stored.keyIDs.contains(given.primaryKeyID) { return (stored, .fileOverKey(path)) }
        return (stored, .file)
    }

    static func hostName() -> NodeID {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        let text = String(nulTerminated: buffer)
        return (try? NodeID(text)) ?? NodeID(unchecked: "hearsay")
    }

    // MARK: Lifecycle

    /// Binds the gossip sockets and the HTTP API, starts the engine and, when seeds are
    /// configured, keeps joining through them until one answers.
    package func start() async throws(NodeStartError) {
        precondition(phase == .created, "a node starts once")
        let bind = settings.bind
        do {
            // No SO_REUSEADDR: on Linux it would let a second process bind the same UDP
            // port and take a share of this node's datagrams.
            udp = try await DatagramBootstrap(group: eventLoop)
                .channelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(DatagramHandler(node: self))
                    }
                }
                .bind(host: bind.host, port: bind.port).get()
        } catch {
            logWriter?.close()
            throw .bind(what: "gossip (UDP)", address: "\(bind)", reason: "\(error)")
        }
        do {
            let tcp = try await ServerBootstrap(group: eventLoop)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                // The opener shuts its output once written and reads the answers.
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                .childChannelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        try self.addStreamHandlers(channel, accepted: true)
                    }
                }
                .bind(host: bind.host, port: bind.port).get()
            listeners.append(tcp)
        } catch {
            closeChannels()
            logWriter?.close()
            throw .bind(what: "gossip (TCP)", address: "\(bind)", reason: "\(error)")
        }
        do {
            let http = try await HTTPServer.bind(settings.http, node: self)
            httpAddress = http.localAddress
            listeners.append(http)
            startEventHandlers()
        } catch {
            closeChannels()
            logWriter?.close()
            throw .bind(what: "the HTTP API", address: "\(settings.http)", reason: "\(error)")
        }
        phase = .running
        let now = clockNow()
        do {
            perform(try engine.start(now: now))
        } catch {
            preconditionFailure("a new engine starts: \(error)")
        }
        logger.info(
            "agent started",
            metadata: [
                "event": "agent_started", "gossip": "\(advertised)", "bind": "\(bind)",
                "http": "\(httpAddress.map(Self.text) ?? "-")", "incarnation": "\(engine.incarnation)",
                "entries": "\(engine.store.count)", "version": "\(BuildInfo.version)",
            ])
        maintenance = eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [self] _ in
            self.assumeIsolated { $0.maintain() }
        }
        if !settings.join.isEmpty {
            Task { await self.keepJoining() }
        }
    }

    /// Once a second: the log's mark follows its length, and the log is compacted when
    /// mostly superseded. Both run on the disk thread (versions from peers reach the disk
    /// with the next batch of writes). Every 30 s, event streams get a heartbeat.
    func maintain() {
        guard phase != .finished else { return }
        maintenanceTicks += 1
        if maintenanceTicks % 30 == 0 { eventHeartbeat(now: SystemClock.wall()) }
        guard let logWriter else { return }
        logWriter.mark(completion: diskFailureLogger("mark the metadata log", key: "mark"))
        let store = engine.store
        guard !compacting, logWriter.needsCompaction(liveVersions: store.count, liveBytes: store.byteSize) else {
            return
        }
        compacting = true
        logWriter.compact(limits: store.limits) { [self] result in
            self.assumeIsolated { node in
                node.compacting = false
                switch result {
                case .success(let sizes):
                    node.logger.info(
                        "compacted the metadata log",
                        metadata: [
                            "event": "log_compacted", "bytes_before": "\(sizes.before)",
                            "bytes_after": "\(sizes.after)",
                        ])
                case .failure(let error):
                    node.logRateLimited(
                        .error, "persist_failed", "cannot compact the metadata log: \(error)", key: "compact")
                }
            }
        }
    }

    /// Retries the configured seeds, resolving their names afresh each time, until the
    /// node has a peer or stops. A node whose seeds resolve to itself alone is the first
    /// member (ready, for others to join), but it keeps looking: in a StatefulSet or a
    /// Compose stack two nodes can each start before the name lists the other.
    func keepJoining() async {
        // Agents started together (a Compose project, a StatefulSet in parallel) often
        // try their seed before it listens: the first retries come quickly and back off
        // to the retry interval, so such a start costs a fraction of a second, not a
        // whole interval.
        var delay = min(Self.firstJoinRetry, settings.joinRetryInterval)
        while phase == .running {
            if case .success(let seeds) = await join(settings.join) {
                awaitingFirstJoin = false
                if seeds.isEmpty && engine.state.activeConnections == 0 && !hasJoined {
                    hasJoined = true
                    logger.info(
                        "the join seeds name only this node: it is the first member, and keeps looking for others",
                        metadata: ["event": "first_member"])
                }
                noteJoined()
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, settings.joinRetryInterval)
            if engine.state.joined && engine.state.activeConnections > 0 { return }
        }
    }

    /// The wait after the first join attempt; each later wait doubles, up to the retry interval.
    static let firstJoinRetry: Duration = .milliseconds(200)

    /// Latches `hasJoined` once the node has joined through a seed (after its seeds
    /// resolved) or has a live peer however it got one (others joined it, an operator's
    /// join). Called after every batch of effects until then.
    func noteJoined() {
        guard !hasJoined else { return }
        let state = engine.state
        if (state.joined && !awaitingFirstJoin) || state.activeConnections > 0 { hasJoined = true }
    }

    /// Resolves `targets` and sends a join to every address they stand for, except this
    /// node's own. Returns the seeds contacted.
    package func join(_ targets: [HostPort]) async -> Result<[HostPort], ResolutionError> {
        var seeds: [HostPort] = []
        var lastError: ResolutionError?
        var resolvedAny = false
        for target in targets {
            let result = await Self.resolve(target)
            switch result {
            case .success(let found):
                seeds += found
                resolvedAny = true
            case .failure(let error):
                logRateLimited(.warning, "join_resolve_failed", "\(error)", key: "resolve")
                lastError = error
            }
        }
        if !resolvedAny, let lastError { return .failure(lastError) }
        // Gossip uses the advertised address's family only, so addresses of the other
        // family cannot be peers: `localhost` also resolves to ::1 on most hosts, and
        // would otherwise count as a seed that never answers.
        let family = IPAddressText.isIPv6(advertised.host)
        let others = seeds.filter { $0 != advertised && IPAddressText.isIPv6($0.host) == family }
        guard phase == .running, !others.isEmpty else { return .success([]) }
        do {
            let now = clockNow()
            perform(try engine.join(seeds: others.map(\.peerAddress), now: now))
        } catch {
            return .success([])
        }
        return .success(others)
    }

    /// Runs the blocking resolver on a thread of its own, off the event loop.
    static func resolve(_ target: HostPort) async -> Result<[HostPort], ResolutionError> {
        if IPAddressText.isLiteral(target.host) { return .success([target]) }
        do {
            return try await NIOThreadPool.singleton.runIfActive { AddressResolver.resolve(target) }
        } catch {
            return .failure(ResolutionError(host: target.host, reason: "\(error)"))
        }
    }

    /// Leaves the cluster gracefully (peers mark this node `left`), then stops. Returns
    /// once the leave has spread or timed out.
    package func leave() async {
        switch phase {
        case .running:
            phase = .leaving
            do {
                let now = clockNow()
                perform(try engine.leave(now: now))
            } catch {
                finish()
                return
            }
            // The last member's leave completes at once, inside perform.
            guard phase != .finished else { return }
            await withCheckedContinuation { leaveWaiters.append($0) }
        case .leaving:
            await withCheckedContinuation { leaveWaiters.append($0) }
        case .created, .finished:
            finish()
        }
    }

    /// Stops at once, without telling peers (they will detect the failure).
    package func stop() {
        finish()
    }

    /// Returns when the node has stopped (after a leave or a stop).
    package func waitUntilFinished() async {
        guard phase != .finished else { return }
        await withCheckedContinuation { finishWaiters.append($0) }
    }

    private func finish() {
        guard phase != .finished else { return }
        let now = clockNow()
        if engine.isRunning { perform((try? engine.stop(now: now)) ?? []) }
        phase = .finished
        answerAllWatches()
        endKeyringRounds()
        abandonTagChanges()
        events.closeAll(reason: "the agent is stopping", now: SystemClock.wall())
        eventHandlers?.stop()
        metrics.eventStreams(open: 0)
        maintenance?.cancel()
        closeChannels()
        // Whatever is queued reaches the disk before the node says it stopped.
        logWriter?.close()
        logger.info("agent stopped", metadata: ["event": "agent_stopped"])
        for waiter in leaveWaiters { waiter.resume() }
        for waiter in finishWaiters { waiter.resume() }
        leaveWaiters = []
        finishWaiters = []
    }

    /// Closes every socket: a failed start leaves none bound behind it.
    private func closeChannels() {
        for channel in listeners { channel.close(promise: nil) }
        udp?.close(promise: nil)
        listeners = []
        udp = nil
    }

    /// Whether the node has joined (or is the first member) and is not leaving
    /// (`/readyz`). With seeds configured, not before their names resolved once: until
    /// then the node cannot tell whether it is first. Once ready it stays so while it
    /// runs: a later join to an address that does not answer (a retry that finds a
    /// starting peer, an operator's typo) does not take a working member out of service.
    package var isReady: Bool { phase == .running && hasJoined }

    /// Whether the node runs (`/healthz`).
    package var isRunning: Bool { phase == .running || phase == .leaving }

    // MARK: Engine events

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
