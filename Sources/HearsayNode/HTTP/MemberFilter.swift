import HearsayCore

/// `GET /v1/members?tag=KEY:VALUE` (repeatable): the members that have every tag asked
/// for, as Consul's `node-meta` filter. `tag=KEY` asks only that the key be there.
struct MemberFilter: Sendable, Hashable {
    struct Requirement: Sendable, Hashable {
        var key: String
        /// Nil when any value will do.
        var value: String?
    }

    var requirements: [Requirement] = []

    /// Every member.
    init() {}

    /// The filter of the `tag` parameters; a key outside the tag rules is a client
    /// error, since no member could have it.
    init(tags: [String]) throws(ValidationError) {
        for text in tags {
            let colon = text.firstIndex(of: ":")
            let key = String(colon.map { text[..<$0] } ?? text[...])
            do {
                try MemberTags.check(key: key)
            } catch {
                throw ValidationError(setting: "tag", value: text, allowed: "KEY or KEY:VALUE, with \(error.allowed)")
            }
            requirements.append(Requirement(key: key, value: colon.map { String(text[text.index(after: $0)...]) }))
        }
    }

    /// Whether `tags` has every tag asked for.
    func matches(_ tags: MemberTags) -> Bool {
        requirements.allSatisfy { requirement in
            guard let value = tags[requirement.key] else { return false }
            return requirement.value.map { $0 == value } ?? true
        }
    }
}
