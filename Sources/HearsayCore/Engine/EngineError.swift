/// Why the engine refused a request from its host.
public enum EngineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `start` on a running engine.
    case alreadyRunning
    /// A request that needs a running engine.
    case notRunning
    /// `leave` while a leave is already under way or done.
    case alreadyLeaving
    /// A metadata write broke a rule.
    case metadata(MetadataError)
    /// A setting is out of range.
    case invalidConfig(ValidationError)

    public var description: String {
        switch self {
        case .alreadyRunning: "gossip protocol already running"
        case .notRunning: "gossip protocol not running"
        case .alreadyLeaving: "node is already leaving the cluster"
        case .metadata(let error): "\(error)"
        case .invalidConfig(let error): "\(error)"
        }
    }
}
