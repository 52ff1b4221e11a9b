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
        members.update(config.nodeID) { $0.incarnation = incarnation }
        let rumor = selfRumor(status: .alive)
        tagChanges &+= 1
        logTagsChanged(rumor, tags: tags)
        enqueueRumor(rumor, ttl: config.broadcastTTL)
        spreadOwnNews()
        return takeEffects()
    }

    /// Keeps the heartbeat payload `rumor` carries for its subject, with the rumor's
    /// incarnation. Tags that differ from the ones held are counted (`tagChanges`) and,
    /// when `announce`, logged as `member_updated` (a newcomer's come with its join).
    mutating func keepHeartbeat(of rumor: MemberRumor, announce: Bool) {
        guard let heartbeat = rumor.heartbeat else { return }
        let previous = heartbeats.updateValue(heartbeat, forKey: rumor.subject)
        heartbeatIncarnations[rumor.subject] = rumor.incarnation
        guard (previous?.tags ?? .none) != heartbeat.tags else { return }
        tagChanges &+= 1
        if announce, previous != nil { logTagsChanged(rumor, tags: heartbeat.tags) }
    }

    private mutating func logTagsChanged(_ rumor: MemberRumor, tags: MemberTags) {
        log(
            .info, "member_updated", "member tags changed",
            [
                LogField("member", rumor.subject.rawValue), LogField("address", rumor.address.rawValue),
                LogField("incarnation", "\(rumor.incarnation)"), LogField("status", rumor.status.rawValue),
                LogField("tags", tags.description),
            ])
    }
}
