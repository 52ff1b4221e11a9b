/// Member tags: this node's, changed at run time, and the changes heard of others'.
extension Engine {
    /// Replaces this node's tags. A change raises the incarnation, so that the alive
    /// rumor carrying the new tags outranks every record of the old ones, and spreads it
    /// as far as a join (heartbeats alone reach only a few peers); it is logged as
    /// `member_updated`. The same tags change nothing.
    public mutating func setTags(_ tags: MemberTags, now: Instant) -> [Effect] {
        self.now = now
        guard tags != self.tags else { return takeEffects() }
        self.tags = tags
        guard lifecycle == .running else { return takeEffects() }
        incarnation += 1
        heartbeatSequence += 1
        membership.members.update(config.nodeID) { $0.incarnation = incarnation }
        let rumor = selfRumor(status: .alive)
        membership.ownTagsChanged()
        logTagsChanged(rumor, tags: tags)
        enqueueRumor(rumor, ttl: config.dissemination.broadcastTTL)
        spreadOwnNews()
        return takeEffects()
    }

    mutating func logTagsChanged(_ rumor: MemberRumor, tags: MemberTags) {
        log(
            .info, "member_updated", "member tags changed",
            [
                LogField("member", rumor.subject.rawValue), LogField("address", rumor.address.rawValue),
                LogField("incarnation", "\(rumor.incarnation)"), LogField("status", rumor.status.rawValue),
                LogField("tags", tags.description),
            ])
    }
}
