extension Engine {
    /// The Go original's `GossipState`, now, its times on the wall clock.
    public var state: GossipState {
        GossipState(
            running: isRunning, currentRound: antiEntropy.currentRound,
            roundStartTime: antiEntropy.round.map { wallClock(at: $0.start) },
            roundDuration: antiEntropy.lastRoundDuration, activeConnections: max(0, members.liveCount - 1),
            pendingMessages: dissemination.queue.count, messageBufferCapacity: dissemination.queue.capacity,
            nextRoundTime: antiEntropy.nextRoundTime.map(wallClock(at:)), protocolVersion: "1",
            state: lifecycle.rawValue,
            incarnation: incarnation, localHealthScore: failureDetector.localHealth.score, joined: joined)
    }

    /// The Go original's `GossipStatistics`, read at protocol time `now`, its times on the wall
    /// clock.
    public func statistics(now: Instant) -> GossipStatistics {
        var stats = statisticsStorage
        stats.activePeers = max(0, members.liveCount - 1)
        stats.lastUpdated = wallClock(at: now)
        stats.lastGossipTime = stats.lastGossipTime.map(wallClock(at:))
        return stats
    }

    /// This node's view of `id`'s heartbeat payload; its own is built fresh.
    public func heartbeat(of id: NodeID) -> NodeHeartbeat? {
        id == config.nodeID ? ownHeartbeat : membership.heartbeats[id]
    }

    var ownHeartbeat: NodeHeartbeat {
        NodeHeartbeat(
            sequence: heartbeatSequence, load: load, version: config.version,
            capabilities: config.capabilities, tags: tags)
    }
}
