/// What the node saw of its gossip connections since its last join began, so that a join
/// that times out can say why it likely failed rather than only that no seed answered.
///
/// An agent closes a connection whose frame it cannot verify without a word (it must not
/// answer what may be a stranger), so a seed with another cluster key shows up here as
/// connections closed with no valid frame; a seed that is down or firewalled, as
/// connections that could not be made.
struct JoinEvidence {
    /// Connections this node opened that ended before a valid frame came back.
    var closedUnanswered = 0
    /// Connections that could not be made, and the last error.
    var unreachable = 0
    var lastError: String?

    /// The likely cause and what to check, for the join timeout's log line; nil when
    /// nothing points anywhere.
    var hint: (cause: String, advice: String)? {
        if closedUnanswered > 0 {
            return (
                "key_mismatch",
                "\(closedUnanswered) connections were closed without an answer, which is what an agent does with "
                    + "frames it cannot verify: check that every agent has the same cluster key (--key, --keyring)"
            )
        }
        if unreachable > 0 {
            return (
                "unreachable",
                "no seed could be reached (\(lastError ?? "connection failed")): check the seed addresses and that "
                    + "TCP and UDP reach their gossip port"
            )
        }
        return nil
    }
}
