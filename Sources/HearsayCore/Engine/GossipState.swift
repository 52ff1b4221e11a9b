/// The Go original's `GossipState`: where the protocol stands now.
public struct GossipState: Sendable, Equatable {
    /// Whether the engine is started (running or leaving).
    public var running: Bool
    /// The number of the latest gossip round.
    public var currentRound: UInt64
    /// When the latest round started.
    public var roundStartTime: Instant?
    /// How long the latest completed round took, measured from its start until its last
    /// exchange finished.
    public var roundDuration: Duration
    /// Live peers (alive or suspect, not counting this node).
    public var activeConnections: Int
    /// Broadcasts waiting in the message buffer.
    public var pendingMessages: Int
    /// The message buffer's capacity.
    public var messageBufferCapacity: Int
    /// When the next round starts.
    public var nextRoundTime: Instant?
    /// The wire protocol version.
    public var protocolVersion: String
    /// `stopped`, `running`, `leaving` or `left`.
    public var state: String
    /// This node's incarnation.
    public var incarnation: UInt64
    /// Lifeguard's local health score: 0 is healthy.
    public var localHealthScore: Int
    /// Whether a join has succeeded (or no join was needed).
    public var joined: Bool
}

/// The Go original's `GossipStatistics`: counts since start, with a true average round time.
public struct GossipStatistics: Sendable, Equatable {
    /// Rounds started.
    public var gossipRounds: UInt64 = 0
    /// Rounds whose exchanges all finished or timed out.
    public var completedRounds: UInt64 = 0
    /// Messages handed to the transport.
    public var messagesSent: UInt64 = 0
    /// Messages received and processed.
    public var messagesReceived: UInt64 = 0
    /// Messages dropped, for any reason.
    public var messagesDropped: UInt64 = 0
    /// Live peers now.
    public var activePeers: Int = 0
    /// The sum of completed round durations.
    public var totalRoundTime: Duration = .zero
    /// When the latest round started.
    public var lastGossipTime: Instant?
    /// When these statistics were read.
    public var lastUpdated: Instant = .zero
    /// Exchanges that timed out, join attempts that failed.
    public var networkErrors: UInt64 = 0
    /// Messages that broke protocol rules.
    public var protocolErrors: UInt64 = 0
    /// Members that became failed in this node's view.
    public var failureDetections: UInt64 = 0
    /// Members that became suspect in this node's view.
    public var suspicions: UInt64 = 0
    /// Rumors about this node that it refuted.
    public var refutations: UInt64 = 0
    /// Entries found in conflict.
    public var conflicts: UInt64 = 0
    /// Local writes and deletes.
    public var localUpdates: UInt64 = 0
    /// Versions from peers that changed the store.
    public var remoteUpdates: UInt64 = 0

    /// Creates zeroed statistics.
    public init() {}

    /// The mean duration of completed rounds (the Go original halved the last two instead).
    public var averageRoundTime: Duration {
        completedRounds == 0 ? .zero : totalRoundTime / Int(completedRounds)
    }
}
