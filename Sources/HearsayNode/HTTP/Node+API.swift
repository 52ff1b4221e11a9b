import HearsayCore
import HearsayWire
import NIOCore
import NIOHTTP1

/// The HTTP API: health, state, members, metadata, join, leave and keys. See
/// `docs/api.md`.
extension Node {
    static let router: Router<Node> = {
        var r = Router<Node>()
        r.add(.GET, "/healthz") { _, _, node in node.health() }
        r.add(.GET, "/readyz") { _, _, node in node.readiness() }
        r.add(.GET, "/metrics") { _, _, node in node.renderMetrics() }
        r.add(.GET, "/v1/state") { _, _, node in .now(.json(node.engine.state.json)) }
        r.add(.GET, "/v1/stats") { _, _, node in
            let now = node.clockNow()
            return .now(.json(node.engine.statistics(now: now).json))
        }
        r.add(.GET, "/v1/members") { request, _, node in
            do {
                return node.metadataQuery(request, .members(try MemberFilter(tags: request.queryValues("tag"))))
            } catch {
                return .now(.error(.badRequest, "\(error)"))
            }
        }
        r.add(.GET, "/v1/tags") { _, _, node in .now(node.tagsAnswer()) }
        r.add(.PUT, "/v1/tags") { request, _, node in node.changeTags(request.body, merge: false) }
        r.add(.PATCH, "/v1/tags") { request, _, node in node.changeTags(request.body, merge: true) }
        r.add(.GET, "/v1/events") { request, _, node in node.eventsRequest(request) }
        r.add(.GET, "/v1/metadata") { request, _, node in
            node.metadataQuery(request, .prefix(request.query["prefix"] ?? ""))
        }
        r.add(.GET, "/v1/metadata/{address...}") { request, p, node in node.getMetadata(request, p["address"]!) }
        r.add(.PUT, "/v1/metadata/{address...}") { request, p, node in node.putMetadata(p["address"]!, request.body) }
        r.add(.DELETE, "/v1/metadata/{address...}") { _, p, node in node.deleteMetadata(p["address"]!) }
        r.add(.POST, "/v1/join") { request, _, node in node.joinRequest(request.body) }
        r.add(.POST, "/v1/leave") { _, _, node in node.leaveRequest() }
        r.add(.GET, "/v1/keys") { request, _, node in node.keysRequest(request) }
        r.add(.POST, "/v1/keys/{operation}") { request, p, node in node.changeKeys(p["operation"]!, request) }
        return r
    }()

    /// Answers one API request. Mutating methods need the bearer token when one is set.
    func handle(_ request: HTTPRequest) -> HTTPReply {
        if request.method != .GET, request.method != .HEAD, let refusal = unauthorized(request, "this endpoint") {
            return .now(refusal)
        }
        return Self.router.route(request, context: self)
    }

    /// The 401 for `request` when an API token is set and the request lacks it; nil
    /// when it may go on. `what` names what needs the token.
    func unauthorized(_ request: HTTPRequest, _ what: String) -> HTTPResponse? {
        guard let token = settings.apiToken, !Self.authorized(request, token: token) else { return nil }
        var response = HTTPResponse.error(.unauthorized, "\(what) needs Authorization: Bearer <api token>")
        response.headers.append(("WWW-Authenticate", "Bearer"))
        return response
    }

    static func authorized(_ request: HTTPRequest, token: String) -> Bool {
        guard let header = request.headers.first(name: "authorization"), header.hasPrefix("Bearer ") else {
            return false
        }
        let given = Array(header.utf8.dropFirst(7))
        let expected = Array(token.utf8)
        // Constant time in the token's length, so timing does not reveal a prefix.
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for index in expected.indices {
            difference |= expected[index] ^ (index < given.count ? given[index] : 0)
        }
        return difference == 0
    }

    // MARK: Health and state

    func health() -> HTTPReply {
        isRunning
            ? .now(.json(.object(["status": "ok", "node": .string(name.rawValue)])))
            : .now(.json(.object(["status": "stopping"]), status: .serviceUnavailable))
    }

    func readiness() -> HTTPReply {
        if isReady { return .now(.json(.object(["ready": .bool(true)]))) }
        let reason = phase == .running ? "not joined yet" : "leaving or stopped"
        return .now(.json(.object(["ready": .bool(false), "reason": .string(reason)]), status: .serviceUnavailable))
    }

    func renderMetrics() -> HTTPReply {
        metrics.refresh(from: engine)
        metrics.blockingQueries(waiting: watches.count)
        return .now(
            HTTPResponse(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: metrics.render()))
    }

    /// The member list, as `GET /v1/members` answers it (`metadataQuery` adds its index):
    /// the members whose tags `filter` matches.
    func membersAnswer(_ filter: MemberFilter) -> HTTPResponse {
        var listed: [JSONValue] = []
        for member in engine.members.all.sorted(by: { $0.id < $1.id }) {
            let heartbeat = engine.heartbeat(of: member.id)
            guard filter.matches(heartbeat?.tags ?? .none) else { continue }
            listed.append(member.json(heartbeat: heartbeat, changedAt: engine.wallClock(at: member.statusChangedAt)))
        }
        return HTTPResponse.json(.object(["members": .array(listed)]))
    }

    // MARK: Metadata

    func getMetadata(_ request: HTTPRequest, _ raw: String) -> HTTPReply {
        do {
            return metadataQuery(request, .address(try MetadataAddress(raw)))
        } catch {
            return .now(.error(.badRequest, "\(error)"))
        }
    }

    /// An entry that exists and is not deleted, or the 400 or 404 answer.
    private enum Lookup {
        case found(MetadataAddress, MetadataEntry)
        case refused(HTTPResponse)
    }

    private func liveEntry(_ raw: String) -> Lookup {
        let address: MetadataAddress
        do {
            address = try MetadataAddress(raw)
        } catch {
            return .refused(.error(.badRequest, "\(error)"))
        }
        guard let entry = engine.store.entry(address) else { return .refused(.error(.notFound, "no entry at \(raw)")) }
        if entry.isDeleted { return .refused(.error(.notFound, "entry \(raw) was deleted")) }
        return .found(address, entry)
    }

    func putMetadata(_ raw: String, _ body: [UInt8]) -> HTTPReply {
        let address: MetadataAddress
        let write: MetadataWrite
        do {
            address = try MetadataAddress(raw)
            write = try MetadataWrite(body: body)
        } catch {
            return .now(.error(.badRequest, "\(error)"))
        }
        do {
            // The clocks are read first: `engine.prepareWrite(now: clockNow())` would call
            // a copy of the engine taken before `clockNow` told it the wall clock.
            let now = clockNow()
            let version = try engine.prepareWrite(
                address, value: write.value, status: write.status, roles: write.roles,
                replicationNodes: write.replicationNodes, now: now)
            return commitDurably(version, value: write.value)
        } catch {
            return .now(engineFailure(error))
        }
    }

    func deleteMetadata(_ raw: String) -> HTTPReply {
        let address: MetadataAddress
        switch liveEntry(raw) {
        case .refused(let answer): return .now(answer)
        case .found(let found, _): address = found
        }
        do {
            let now = clockNow()
            let version = try engine.prepareWrite(address, value: nil, status: .deleted, now: now)
            return commitDurably(version)
        } catch {
            return .now(engineFailure(error))
        }
    }

    /// A local write, durable first, then visible and gossiped: a crash in between
    /// loses nothing that anyone saw, so a restarted node never reuses the write's
    /// clock counter for other content; and a write the disk refuses (full, failing)
    /// changes nothing anywhere and is answered 503. The disk thread writes it with every
    /// other write queued meanwhile (one sync for all); the engine holds it as pending
    /// until then, and the answer follows its commit, in the order of the writes.
    private func commitDurably(_ version: ContextMetadata, value: JSONValue? = nil) -> HTTPReply {
        guard let logWriter else {
            let now = clockNow()
            committingLocally = true
            perform(engine.commitWrite(version, persisted: false, now: now))
            committingLocally = false
            return .now(.version(version, value: value))
        }
        let answer = eventLoop.makePromise(of: HTTPResponse.self)
        logWriter.write(version) { [self] result in
            self.assumeIsolated { $0.written(version, value: value, result, answer: answer) }
        }
        return .promised(answer.futureResult)
    }

    /// A local write's batch is durable, or failed: commit it or drop it, and answer.
    private func written(
        _ version: ContextMetadata, value: JSONValue?, _ result: Result<Void, PersistenceError>,
        answer: EventLoopPromise<HTTPResponse>
    ) {
        switch result {
        case .success:
            let now = clockNow()
            perform(engine.commitWrite(version, persisted: true, now: now, spread: false))
            // A write made durable here is no `.stored` effect (it is on disk already):
            // its queries wake now.
            wakeWatches(version.address)
            publishMetadataEvent(version, local: true)
            answer.succeed(.version(version, value: value))
            // The writes of one batch are committed in one turn of the loop; they go out
            // together once it ends.
            if !spreadScheduled {
                spreadScheduled = true
                eventLoop.execute { [self] in
                    self.assumeIsolated { node in
                        node.spreadScheduled = false
                        let now = node.clockNow()
                        node.perform(node.engine.spread(now: now))
                    }
                }
            }
        case .failure(let error):
            engine.abandonWrite(version)
            logRateLimited(.error, "persist_failed", "cannot write the metadata log: \(error)", key: "persist")
            answer.succeed(
                .error(
                    .serviceUnavailable,
                    "the write was refused: it could not be made durable (\(error.reason)); nothing was changed, retry it"
                ))
        }
    }

    private func engineFailure(_ error: EngineError) -> HTTPResponse {
        switch error {
        case .metadata: .error(.badRequest, "\(error)")
        case .notRunning, .alreadyLeaving: .error(.serviceUnavailable, "\(error)")
        case .alreadyRunning, .invalidConfig: .error(.internalServerError, "\(error)")
        }
    }

    // MARK: Membership

    func joinRequest(_ body: [UInt8]) -> HTTPReply {
        let targets: [HostPort]
        do {
            targets = try JoinRequest(body: body).addresses
        } catch {
            return .now(.error(.badRequest, "\(error)"))
        }
        return .later { [self] in
            switch await self.join(targets) {
            case .failure(let error):
                return .error(.badGateway, "\(error)")
            case .success(let seeds):
                let joined = await self.waitForJoin(timeout: .seconds(5))
                return .json(
                    .object([
                        "joined": .bool(joined), "seeds": .array(seeds.map { .string($0.description) }),
                    ]),
                    status: joined ? .ok : .gatewayTimeout)
            }
        }
    }

    /// Waits until the engine reports a completed join, polling its state.
    func waitForJoin(timeout: Duration) async -> Bool {
        let deadline = SystemClock.monotonic() + timeout
        while !engine.state.joined && SystemClock.monotonic() < deadline && phase == .running {
            try? await Task.sleep(for: .milliseconds(50))
        }
        return engine.state.joined
    }

    func leaveRequest() -> HTTPReply {
        guard phase == .running else { return .now(.error(.conflict, "the node is already leaving or stopped")) }
        return .later { [self] in
            await self.leave()
            return .json(.object(["left": .bool(true), "node": .string(self.name.rawValue)]))
        }
    }
}
