/// What the engine asks its host to do. The node runtime executes effects on real
/// sockets and timers; the simulator executes them on a virtual network.
public enum Effect: Sendable, Equatable {
    /// Send messages to a peer in one frame.
    case send(Outbound)
    /// Call `Engine.timerFired` with this timer at this instant. A timer is never
    /// cancelled: the engine ignores one that no longer matters.
    case armTimer(Timer, at: Instant)
    /// Count or observe something.
    case metric(MetricEvent)
    /// Log an event.
    case log(LogRecord)
    /// A graceful leave has spread (or timed out); the host may stop the node now.
    case leaveCompleted
    /// A version entered the store, written here or merged from a peer. A durable host
    /// records it; a local write is acknowledged only once its version is on disk.
    case stored(ContextMetadata)
}

/// How a frame travels.
public enum Transport: String, Sendable, Codable, CaseIterable {
    /// UDP: probes, acks and piggybacked broadcasts; at most one datagram budget.
    case datagram = "udp"
    /// TCP with a length prefix: member lists, anti-entropy, oversized broadcasts.
    case stream = "tcp"
}

/// Messages bound for one peer in one frame.
public struct Outbound: Sendable, Equatable {
    /// The peer's gossip address.
    public var to: PeerAddress
    /// Datagram or stream.
    public var transport: Transport
    /// The messages, in order.
    public var messages: [GossipMessage]

    /// Creates an outbound frame.
    public init(to: PeerAddress, transport: Transport, messages: [GossipMessage]) {
        self.to = to
        self.transport = transport
        self.messages = messages
    }

    /// Encoded length of the messages, without the frame overhead.
    package var wireSize: Int {
        messages.reduce(WireSize.varint(messages.count)) { $0 + $1.wireSize }
    }
}

/// A timer the engine asked for; `epoch` separates timers of different runs of the
/// same engine, so a stop and restart never leaves two probe loops.
public struct Timer: Hashable, Sendable {
    /// What the timer is for.
    public var key: TimerKey
    /// The engine run that armed it.
    public var epoch: UInt64

    /// Creates a timer.
    public init(key: TimerKey, epoch: UInt64) {
        self.key = key
        self.epoch = epoch
    }
}

/// What a timer is for.
public enum TimerKey: Hashable, Sendable {
    /// Start the next probe (and judge the previous one).
    case probe
    /// The direct ping of probe `sequence` had no answer: ask others.
    case probeTimeout(sequence: UInt64)
    /// A ping relayed for someone else had no answer: tell them (nack).
    case relayTimeout(sequence: UInt64)
    /// The suspicion of a member may have run out.
    case suspicion(NodeID)
    /// Gossip queued broadcasts.
    case gossip
    /// Start an anti-entropy round (the Go original's gossip round).
    case gossipRound
    /// Round `round` ran out of time.
    case roundTimeout(round: UInt64)
    /// A streaming exchange's page `page` may have gone unanswered.
    case pageTimeout(session: UInt64, page: Int)
    /// Announce our heartbeat.
    case heartbeat
    /// Purge tombstones past their grace period.
    case reap
    /// Join attempt `attempt` had no answer.
    case joinTimeout(attempt: UInt64)
    /// A graceful leave has waited long enough.
    case leave
    /// The opening digest of an anti-entropy exchange, sent as a datagram, had no answer:
    /// send it again over a stream.
    case syncRoot(session: UInt64)
    /// The `step`th member-list exchange after the join of attempt `attempt`.
    case catchUp(attempt: UInt64, step: Int)
}
