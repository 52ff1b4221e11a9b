/// A port that accepts connections; the values label the connection metrics.
enum ListenerPort: String, CaseIterable, Sendable {
    case gossip, http
}

/// Why the node closed a connection before its peer was done; the values label
/// `hearsay_connections_cut_total`.
enum ConnectionCut: String, CaseIterable, Sendable {
    /// A frame, or a request's head and body, did not arrive whole in time.
    case deadline
    /// What it was sending would have passed the port's buffer budget.
    case budget
    /// A gossip frame failed a check (counted by its reason in
    /// `hearsay_messages_dropped_total`): the rest of the connection is not read.
    case badFrame = "bad_frame"

    /// The cuts that can happen on `port`.
    static func cuts(on port: ListenerPort) -> [ConnectionCut] {
        port == .gossip ? allCases : [.deadline, .budget]
    }
}
