import HearsayCore
import HearsayWire
import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Starting, joining, leaving and stopping the node, and what it reports of them.
extension Node {
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

    func finish() {
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
}
