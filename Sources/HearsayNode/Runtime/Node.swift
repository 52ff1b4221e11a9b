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
    package internal(set) var httpAddress: SocketAddress?
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
        config.antiEntropy.gossipInterval = settings.gossipInterval
        config.failureDetection.probeInterval = settings.probeInterval
        config.failureDetection.probeTimeout = settings.probeTimeout
        config.dissemination.gossipNodes = settings.gossipNodes
        config.antiEntropy.maxGossipPeers = settings.maxGossipPeers
        config.dissemination.messageBufferSize = settings.messageBufferSize
        config.tags = try Self.startTags(settings, directory)
        config.capabilities.append(Self.keyringCapability)
        config.dissemination.frameOverheadBytes = FrameLayout.maxOverhead(sender: name)
        // A page, its bucket lists and the frame's overhead stay well inside a stream frame.
        config.antiEntropy.syncPageBytes = min(config.antiEntropy.syncPageBytes, settings.maxStreamFrameBytes / 4)
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
}
