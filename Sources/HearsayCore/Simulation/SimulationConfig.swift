/// How a simulated cluster and its virtual network are set up.
public struct SimulationConfig: Sendable {
    /// Number of nodes.
    public var nodes: Int = 5
    /// The seed of everything random: the network and every engine.
    public var seed: UInt64 = 1
    /// Probability that a datagram is lost, on every link.
    public var loss: Double = 0
    /// One-way delay of every delivery, drawn uniformly from this range.
    public var latency: ClosedRange<Duration> = .milliseconds(1)...(.milliseconds(5))
    /// Start with every node knowing every other (as after a completed join), instead
    /// of joining through node 0. Large runs use it; thousands of engines then share
    /// one member table until they change it.
    public var preloadMembership = false
    /// Adjusts each node's engine settings.
    public var tune: @Sendable (inout EngineConfig) -> Void = { _ in }

    /// Creates the default configuration: 5 nodes, no loss, 1-5 ms latency.
    public init() {}

    /// The node id of node `index`.
    public static func nodeID(_ index: Int) -> NodeID { NodeID(unchecked: "node-\(index)") }

    /// The address of node `index`: a private IPv4 address, port 7946.
    public static func address(_ index: Int) -> PeerAddress {
        PeerAddress("10.\(index / 65536 % 256).\(index / 256 % 256).\(index % 256):7946")
    }
}
