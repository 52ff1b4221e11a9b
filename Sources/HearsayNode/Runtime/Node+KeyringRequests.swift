import HearsayCore
import HearsayWire
import NIOCore

/// Keyring operations on the whole cluster, in the manner of `serf keys`: the node an
/// operator calls asks every member but those that left over the gossip port, in frames
/// signed with each key they may hold (a member that missed a rotation holds only an
/// older one), and collects the answers; each member answers on the request's own
/// connection.
extension Node {
    /// The capability a member announces when it answers keyring requests; members
    /// without it (older versions) are not sent any, since they would refuse the frame.
    static let keyringCapability = "keyring"

    /// At most this many rounds at once: each costs a connection per member and key.
    static let maxKeyringRounds = 4

    /// Whether another round may start now.
    var mayStartKeyringRound: Bool { keyringRounds.count < Self.maxKeyringRounds }

    /// Asks every member but those that left to do `operation` with `key`, in one frame
    /// per key of `signingKeys` (the keys the members may hold: never one this round
    /// installs), and calls `finish` once all answered or `KeyringRound.wait` passed.
    func startKeyringRound(
        _ operation: KeyringOperation, key: [UInt8]?, signingKeys: [KeyID],
        finish: @escaping (KeyringRound) -> Void
    ) {
        let id = UInt64.random(in: 1...UInt64.max)
        var round = KeyringRound(
            operation: operation, key: key.map { KeyID(of: $0).description },
            own: (name, keyring.primaryKeyID.description, keyring.keyIDs.map(\.description)), finish: finish)
        var targets: [PeerAddress] = []
        // Failed members are asked too: one back from a restart during a rotation holds
        // only the old key, cannot read the cluster's frames and stays failed to it, yet
        // reads a request signed with the old key. Those really down just do not answer.
        for member in engine.members.all where member.id != name && member.status != .left {
            guard engine.heartbeat(of: member.id)?.capabilities.contains(Self.keyringCapability) == true else {
                round.skipped[member.id] =
                    "not asked: has not announced that it takes keyring requests (an older version, or no heartbeat heard yet)"
                continue
            }
            round.waiting[member.id] = member.status.rawValue
            targets.append(member.address)
        }
        guard !targets.isEmpty else { return finish(round) }
        round.timeout = eventLoop.scheduleTask(in: KeyringRound.wait) { [self] in
            self.assumeIsolated { $0.endKeyringRound(id) }
        }
        keyringRounds[id] = round
        let nowMillis = SystemClock.wall().milliseconds
        for keyID in signingKeys {
            guard let signing = keyring.key(for: keyID) else { continue }
            let sealed = key.map { KeyTransfer.seal($0, under: signing, id: id, operation: operation.rawValue) } ?? []
            let message = keyringEnvelope(.request(KeyringRequest(id: id, operation: operation, sealedKey: sealed)))
            let bytes = codec.sealStream([message], nowMillis: nowMillis, signingWith: keyID)
            for target in targets {
                metrics.sent([message], bytes: bytes.count, via: .stream)
                sendStream(bytes, to: target)
            }
        }
    }

    private func endKeyringRound(_ id: UInt64) {
        guard let round = keyringRounds.removeValue(forKey: id) else { return }
        round.timeout?.cancel()
        round.finish(round)
    }

    /// Ends every round at once (the node is stopping), with what it has.
    func endKeyringRounds() {
        for id in Array(keyringRounds.keys) { endKeyringRound(id) }
    }

    /// A keyring message arrived in `frame` (verified: its key is one this node holds).
    func keyringMessage(_ message: GossipMessage, frame: Frame, from: PeerAddress) {
        guard case .keyring(let keyring) = message.payload else { return }
        switch keyring {
        case .request(let request):
            answerKeyringRequest(request, frame: frame, from: from)
        case .response(let response):
            guard var round = keyringRounds[response.id], round.waiting.removeValue(forKey: frame.sender) != nil
            else { return }
            round.answers[frame.sender] = response
            keyringRounds[response.id] = round
            if round.waiting.isEmpty { endKeyringRound(response.id) }
        }
    }

    /// Does what a member asked and answers on its connection, signed with the key that
    /// signed the request: the asker holds it, whatever this node's primary is now.
    private func answerKeyringRequest(_ request: KeyringRequest, frame: Frame, from: PeerAddress) {
        var refusal: String?
        if request.operation != .list {
            // An earlier request of the same frame may have removed the key that signed it.
            guard let signing = keyring.key(for: frame.keyID) else {
                return replyToKeyringRequest(
                    request, refusal: "the key that signed the request (\(frame.keyID)) is no longer held",
                    frame: frame,
                    from: from)
            }
            do {
                let key = try KeyTransfer.open(
                    request.sealedKey, under: signing, id: request.id, operation: request.operation.rawValue)
                if case .refused(let why, _) = changeKeyring(
                    request.operation, key, idempotent: true, requestedBy: frame.sender)
                {
                    refusal = why
                }
            } catch {
                refusal = "the key could not be opened: \(error)"
            }
        }
        replyToKeyringRequest(request, refusal: refusal, frame: frame, from: from)
    }

    private func replyToKeyringRequest(_ request: KeyringRequest, refusal: String?, frame: Frame, from: PeerAddress) {
        // Within what the asker decodes (a refusal may name a long keyring path twice).
        var reason = refusal
        while let text = reason, text.utf8.count > 512 { reason = String(text.dropLast()) }
        let answer = keyringEnvelope(
            .response(
                KeyringResponse(
                    id: request.id, refusal: reason, primary: keyring.primaryKeyID.description,
                    keys: keyring.keyIDs.map(\.description))))
        let bytes = codec.sealStream([answer], nowMillis: SystemClock.wall().milliseconds, signingWith: frame.keyID)
        metrics.sent([answer], bytes: bytes.count, via: .stream)
        sendStream(bytes, to: from)
    }

    private func keyringEnvelope(_ message: KeyringMessage) -> GossipMessage {
        GossipMessage(
            id: UInt64.random(in: 1...UInt64.max), sender: name,
            timestamp: Instant(nanoseconds: SystemClock.wall().milliseconds * 1_000_000), ttl: 1,
            payload: .keyring(message), metadata: MessageMetadata(reliability: true))
    }
}
