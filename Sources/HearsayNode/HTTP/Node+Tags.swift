import HearsayCore
import NIOCore

/// This node's tags: loaded at start, changed through `/v1/tags`, durable before they
/// are announced.
extension Node {
    /// The tags to start with: those kept in the data directory's `tags.json` with the
    /// `--tag` ones over them, as serf's command line wins over its snapshot. The file is
    /// rewritten when that changes it; a node without tags needs none (no file is no tags),
    /// which spares a fresh start two syncs.
    static func startTags(_ settings: NodeSettings, _ directory: DataDirectory?) throws(NodeStartError) -> MemberTags {
        guard let directory else { return settings.tags }
        let file = directory.tagsFile
        let stored: MemberTags?
        do {
            stored = try file.read()
        } catch {
            throw .persistence(error)
        }
        let merged: MemberTags
        do {
            merged = try MemberTags((stored?.pairs ?? [:]).merging(settings.tags.pairs) { $1 })
        } catch {
            throw .invalidSetting(
                ValidationError(
                    setting: "tag", value: error.value,
                    allowed: "\(error.allowed), with \(file.path) and --tag together"))
        }
        if merged != (stored ?? MemberTags.none) {
            do {
                try file.write(merged)
            } catch {
                throw .persistence(error)
            }
        }
        return merged
    }

    /// A change asked for through the API, waiting for the ones before it.
    struct TagChange {
        enum Kind {
            /// `PUT`: these tags and no others.
            case replace([String: String])
            /// `PATCH` (JSON merge patch): a string sets a key, null removes it.
            case merge([String: String?])
        }
        var kind: Kind
        var answer: EventLoopPromise<HTTPResponse>
    }

    /// At most this many changes wait at once; more are refused with 503.
    static let maxWaitingTagChanges = 64

    /// `GET /v1/tags`: this node's tags as an object of strings.
    func tagsAnswer() -> HTTPResponse {
        .json(engine.tags.json)
    }

    /// `PUT` or `PATCH /v1/tags`. Changes are made one at a time, in the order they came:
    /// a merge applies to the tags the changes before it left.
    func changeTags(_ body: [UInt8], merge: Bool) -> HTTPReply {
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes: body)
        } catch {
            return .now(.error(.badRequest, "the body is not JSON: \(error)"))
        }
        guard case .object(let fields) = document else {
            return .now(.error(.badRequest, "the body must be an object of tag values"))
        }
        var kind: TagChange.Kind
        if merge {
            var patch: [String: String?] = [:]
            for (key, value) in fields {
                switch value {
                case .string(let text): patch[key] = .some(text)
                case .null:
                    // Removing a key no tag could have is a typo, not a no-op.
                    do {
                        try MemberTags.check(key: key)
                    } catch {
                        return .now(.error(.badRequest, "\(error)"))
                    }
                    patch[key] = .some(nil)
                default: return .now(.error(.badRequest, "tag \(key): a string sets it, null removes it"))
                }
            }
            kind = .merge(patch)
        } else {
            var pairs: [String: String] = [:]
            for (key, value) in fields {
                guard case .string(let text) = value else {
                    return .now(.error(.badRequest, "tag \(key): the value must be a string"))
                }
                pairs[key] = text
            }
            kind = .replace(pairs)
        }
        guard phase == .running else {
            return .now(.error(.serviceUnavailable, "the node is \(phase == .created ? "starting" : "stopping")"))
        }
        guard tagChanges.count < Self.maxWaitingTagChanges else {
            return .now(.error(.serviceUnavailable, "\(tagChanges.count) tag changes are waiting already: retry"))
        }
        let answer = eventLoop.makePromise(of: HTTPResponse.self)
        tagChanges.append(TagChange(kind: kind, answer: answer))
        if !changingTags { nextTagChange() }
        return .promised(answer.futureResult)
    }

    /// Makes the next waiting change: written to `tags.json` first, then announced.
    private func nextTagChange() {
        guard !tagChanges.isEmpty else {
            changingTags = false
            return
        }
        changingTags = true
        let change = tagChanges.removeFirst()
        var pairs = engine.tags.pairs
        switch change.kind {
        case .replace(let given): pairs = given
        case .merge(let patch):
            for (key, value) in patch { pairs[key] = value }
        }
        let tags: MemberTags
        do {
            tags = try MemberTags(pairs)
        } catch {
            change.answer.succeed(.error(.badRequest, "\(error)"))
            return nextTagChange()
        }
        guard tags != engine.tags, let logWriter, let file = dataDirectory?.tagsFile else {
            announce(tags)
            change.answer.succeed(tagsAnswer())
            return nextTagChange()
        }
        logWriter.writeTags(tags, to: file) { [self] failure in
            self.assumeIsolated { node in
                if let failure {
                    node.logRateLimited(.error, "persist_failed", "cannot write the tags: \(failure)", key: "tags")
                    change.answer.succeed(
                        .error(.serviceUnavailable, "tags not changed: cannot write them: \(failure)"))
                } else {
                    node.announce(tags)
                    change.answer.succeed(.json(tags.json))
                }
                if node.phase != .finished { node.nextTagChange() }
            }
        }
    }

    /// Answers the changes still waiting with 503 (the node is stopping); the one being
    /// written is answered when its write ends.
    func abandonTagChanges() {
        for change in tagChanges {
            change.answer.succeed(.error(.serviceUnavailable, "the node is stopping: tags not changed"))
        }
        tagChanges = []
    }

    /// Makes written tags the node's. While the node leaves, the engine keeps them
    /// without announcing them, so that a change queued behind builds on them.
    private func announce(_ tags: MemberTags) {
        guard tags != engine.tags else { return }
        let now = clockNow()
        perform(engine.setTags(tags, now: now))
    }
}
