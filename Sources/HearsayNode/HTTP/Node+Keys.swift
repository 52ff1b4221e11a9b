import HearsayCore
import HearsayWire
import NIOCore

/// `/v1/keys`: this agent's keyring, or the whole cluster's (`scope=cluster`, the
/// default for changes), as `serf keys` manages it.
extension Node {
    private enum Scope {
        case local, cluster
    }

    private func scope(_ request: HTTPRequest, default fallback: Scope) -> Scope? {
        switch request.query["scope"] {
        case nil: fallback
        case "local"?: .local
        case "cluster"?: .cluster
        default: nil
        }
    }

    /// `GET /v1/keys`: this agent's keys; `scope=cluster` asks every member for theirs.
    func keysRequest(_ request: HTTPRequest) -> HTTPReply {
        switch scope(request, default: .local) {
        case .local?: return .now(.json(keysJSON))
        case nil: return .now(.error(.badRequest, "scope must be local or cluster"))
        case .cluster?:
            // A GET, but one that opens connections to every member: the token guards it
            // as it guards changes.
            if let refusal = unauthorized(request, "a cluster-wide key listing") { return .now(refusal) }
            if let refusal = roundRefusal { return .now(refusal) }
            let answer = eventLoop.makePromise(of: HTTPResponse.self)
            startKeyringRound(.list, key: nil, signingKeys: keyring.keyIDs) { round in
                answer.succeed(.json(round.json))
            }
            return .promised(answer.futureResult)
        }
    }

    /// The 503 for a round that cannot start now (stopping, or too many at once).
    private var roundRefusal: HTTPResponse? {
        guard phase == .running else { return .error(.serviceUnavailable, "the node is not running") }
        guard mayStartKeyringRound else {
            var response = HTTPResponse.error(
                .serviceUnavailable, "\(keyringRounds.count) cluster-wide key operations are running: retry")
            response.headers.append(("Retry-After", "5"))
            return response
        }
        return nil
    }

    /// `POST /v1/keys/{install|use|remove}` with `{"key": base64}`: on every member
    /// (`scope=cluster`, the default), or on this agent alone (`scope=local`).
    func changeKeys(_ name: String, _ request: HTTPRequest) -> HTTPReply {
        let operation: KeyringOperation
        switch name {
        case "install": operation = .install
        case "use": operation = .use
        case "remove": operation = .remove
        default: return .now(.error(.notFound, "no key operation '\(name)': install, use or remove"))
        }
        let key: [UInt8]
        do {
            key = try KeyRequest(body: request.body).key
        } catch {
            return .now(.error(.badRequest, "\(error)"))
        }
        guard let scope = scope(request, default: .cluster) else {
            return .now(.error(.badRequest, "scope must be local or cluster"))
        }
        if scope == .local {
            switch changeKeyring(operation, key, idempotent: false) {
            case .changed, .unchanged: return .now(.json(keysJSON))
            case .refused(let why, let conflict):
                return .now(.error(conflict ? .conflict : .internalServerError, why))
            }
        }
        if let refusal = roundRefusal { return .now(refusal) }
        let answer = eventLoop.makePromise(of: HTTPResponse.self)
        if operation == .remove, request.query["force"] != "true" {
            // serf#579: a member that lacks the key that stays would be cut off for good.
            // The round calls back on this node's loop, within its isolation.
            startKeyringRound(.list, key: nil, signingKeys: keyring.keyIDs) { census in
                guard self.phase == .running else {
                    return answer.succeed(.error(.serviceUnavailable, "the node is stopping: no key removed"))
                }
                let unsafe = self.membersCutOff(byRemoving: KeyID(of: key), census)
                guard unsafe.isEmpty else { return answer.succeed(self.removalRefused(KeyID(of: key), unsafe)) }
                self.changeClusterKeys(.remove, key, answer: answer)
            }
        } else {
            changeClusterKeys(operation, key, answer: answer)
        }
        return .promised(answer.futureResult)
    }

    /// This node's change first (refused, nothing is asked of anyone), then every member's.
    private func changeClusterKeys(
        _ operation: KeyringOperation, _ key: [UInt8], answer: EventLoopPromise<HTTPResponse>
    ) {
        // The members hold at most the keys held before this change: a frame signed with
        // the key being installed would only be dropped by each of them as unknown.
        let before = keyring.keyIDs
        if case .refused(let why, let conflict) = changeKeyring(operation, key, idempotent: true) {
            return answer.succeed(.error(conflict ? .conflict : .internalServerError, why))
        }
        let signing = keyring.keyIDs.filter(before.contains)
        startKeyringRound(operation, key: key, signingKeys: signing) { round in answer.succeed(.json(round.json)) }
    }

    /// The members that removing `removed` would cut off, as a census of every member's
    /// keys shows them: any that did not answer (down, or unreachable: its keys are not
    /// known), holds no copy of this node's primary key, or still signs with `removed`.
    private func membersCutOff(byRemoving removed: KeyID, _ census: KeyringRound) -> [NodeID: String] {
        let primary = keyring.primaryKeyID.description
        var unsafe = census.missing
        for (member, answer) in census.answers {
            if answer.primary == removed.description {
                unsafe[member] = "still signs with \(removed)"
            } else if !answer.keys.contains(primary) {
                unsafe[member] = "does not hold the primary key \(primary)"
            }
        }
        if keyring.primaryKeyID == removed { unsafe[name] = "signs with \(removed) (use another key first)" }
        return unsafe
    }

    private func removalRefused(_ removed: KeyID, _ unsafe: [NodeID: String]) -> HTTPResponse {
        let list = unsafe.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
        return .json(
            .object([
                "error": .string(
                    "not removing \(removed): it would cut off members that cannot be shown to hold the primary key "
                        + "\(keyring.primaryKeyID): \(list). Bring them back and run install and use again (they "
                        + "still accept \(removed)), or pass force=true"),
                "not_confirmed": .object(
                    Dictionary(uniqueKeysWithValues: unsafe.map { ($0.key.rawValue, JSONValue.string($0.value)) })),
            ]), status: .conflict)
    }
}
