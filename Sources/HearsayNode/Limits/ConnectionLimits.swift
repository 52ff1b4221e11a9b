/// The open inbound connections of one port, by source address, held under a total
/// limit and a limit per address (as nginx's `limit_conn` and Envoy's connection
/// limits do): one source cannot take every connection, nor all sources every
/// descriptor.
struct ConnectionLimits {
    /// Why a connection was refused; the values label `hearsay_connections_refused_total`.
    enum Refusal: String, CaseIterable, Sendable {
        /// The port holds its most connections.
        case limit
        /// The connection's source address holds its most connections.
        case addressLimit = "address_limit"
    }

    let maxTotal: Int
    let maxPerAddress: Int
    private(set) var open = 0
    private var byAddress: [String: Int] = [:]

    init(maxTotal: Int, maxPerAddress: Int) {
        self.maxTotal = maxTotal
        self.maxPerAddress = maxPerAddress
    }

    /// Takes a place for a connection from `address` (an IP), or says why there is none.
    mutating func admit(_ address: String) -> Refusal? {
        if open >= maxTotal { return .limit }
        let held = byAddress[address, default: 0]
        if held >= maxPerAddress { return .addressLimit }
        byAddress[address] = held + 1
        open += 1
        return nil
    }

    /// Gives back the place of an admitted connection from `address`.
    mutating func release(_ address: String) {
        guard let held = byAddress[address] else { return }
        byAddress[address] = held > 1 ? held - 1 : nil
        open -= 1
    }
}
