import HearsayCore
import NIOCore

/// Blocking queries on the metadata, in Consul's manner: a GET with `index=N` waits
/// until what it covers changes past index N of the node's store, or until its `wait`
/// ends, and then answers as a plain GET would. Every metadata answer carries the index
/// in `X-Hearsay-Index`, so a client that repeats the query with it sees each change
/// once, without polling.
struct BlockingQuery: Sendable {
    /// The store index the client has seen.
    var index: UInt64
    /// How long to wait for a change at most.
    var wait: Duration

    static let defaultWait: Duration = .seconds(300)
    static let maxWait: Duration = .seconds(600)

    /// The query of a request with `index`; nil for a plain GET. A bad `index` or `wait`
    /// is a client error.
    init?(_ request: HTTPRequest) throws(BlockingQueryError) {
        guard let text = request.query["index"] else {
            if request.query["wait"] != nil { throw .waitWithoutIndex }
            return nil
        }
        guard let index = UInt64(text) else { throw .badIndex(text) }
        self.index = index
        if let text = request.query["wait"] {
            do {
                wait = try Duration(parsing: text, setting: "wait")
            } catch {
                throw .badWait(text)
            }
            guard wait <= Self.maxWait else { throw .badWait(text) }
        } else {
            wait = Self.defaultWait
        }
    }
}

enum BlockingQueryError: Error, CustomStringConvertible {
    case badIndex(String)
    case badWait(String)
    case waitWithoutIndex

    var description: String {
        switch self {
        case .badIndex(let text): "index '\(text)' is not a whole number from 0 to 2^64 - 1"
        case .badWait(let text): "wait '\(text)' is not a duration up to \(BlockingQuery.maxWait.text), such as 30s"
        case .waitWithoutIndex: "wait needs index: wait=... blocks only past a given index"
        }
    }
}

/// What blocking queries wait for: an entry, every entry under a prefix, or the
/// member list.
enum WatchScope: Sendable, Hashable {
    case address(MetadataAddress)
    case prefix(String)
    /// The member list, as `filter` shows it; every change of the list wakes it.
    case members(MemberFilter)

    func covers(_ address: MetadataAddress) -> Bool {
        switch self {
        case .address(let watched): watched == address
        case .prefix(let prefix): address.rawValue.hasPrefix(prefix)
        case .members: false
        }
    }
}

/// The blocking queries waiting on one node, by what they cover. A change looks up the
/// queries on its address at once, and goes through those on prefixes; nothing runs
/// while nothing changes, whatever the number waiting (each costs one entry, and one
/// place in `deadlines`). At most one waits per HTTP connection, so the connection
/// limits bound them.
struct MetadataWatches {
    struct Waiting {
        var scope: WatchScope
        var answer: EventLoopPromise<HTTPResponse>
    }

    private var waiting: [UInt64: Waiting] = [:]
    /// When each query's wait ends (`expired`).
    private var deadlines = WatchDeadlines()
    /// The node's one timer for the waits, and when it fires (`Node.armWatchTimer`).
    var timer: Scheduled<Void>?
    var timerAt: NIODeadline?
    private var byAddress: [MetadataAddress: Set<UInt64>] = [:]
    private var onPrefixes: Set<UInt64> = []
    private var onMembers: Set<UInt64> = []
    private var nextID: UInt64 = 0
    /// The store's `purgedAt` the prefix queries were last woken for.
    var purgedAt: UInt64 = 0
    /// The member list's index: it counts the changes of the member list this node has
    /// seen since it started (a member joining, suspected, failed, leaving, refuting,
    /// moving), as the store's index counts the store's. It starts again at 1 on a
    /// restart, which a client tells by an index lower than its own.
    private(set) var membersIndex: UInt64 = 1
    /// The member list's digest (`MemberTable.digest`) at `membersIndex`.
    private var membersDigest: UInt64?

    var count: Int { waiting.count }

    /// Parks a query until `deadline` at the latest; its id, for `remove`.
    mutating func add(_ scope: WatchScope, answer: EventLoopPromise<HTTPResponse>, until deadline: NIODeadline)
        -> UInt64
    {
        nextID += 1
        waiting[nextID] = Waiting(scope: scope, answer: answer)
        if deadlines.count > 2 * waiting.count + 64 { deadlines.compact { waiting[$0] != nil } }
        deadlines.insert(deadline, id: nextID)
        switch scope {
        case .address(let address): byAddress[address, default: []].insert(nextID)
        case .prefix: onPrefixes.insert(nextID)
        case .members: onMembers.insert(nextID)
        }
        return nextID
    }

    /// The queries whose wait has ended by `now`.
    mutating func expired(by now: NIODeadline) -> [UInt64] {
        deadlines.due(by: now).filter { waiting[$0] != nil }
    }

    /// The earliest wait still to end (perhaps of a query answered since: the timer that
    /// fires for it finds nothing, and is set again for the next).
    var nextDeadline: NIODeadline? { deadlines.earliest }

    /// Takes a query out; nil when it was answered already.
    mutating func remove(_ id: UInt64) -> Waiting? {
        guard let entry = waiting.removeValue(forKey: id) else { return nil }
        switch entry.scope {
        case .address(let address):
            byAddress[address]?.remove(id)
            if byAddress[address]?.isEmpty == true { byAddress[address] = nil }
        case .prefix:
            onPrefixes.remove(id)
        case .members:
            onMembers.remove(id)
        }
        return entry
    }

    /// The queries that a change at `address` wakes.
    func woken(by address: MetadataAddress) -> [UInt64] {
        var ids = Array(byAddress[address] ?? [])
        for id in onPrefixes where waiting[id]?.scope.covers(address) == true { ids.append(id) }
        return ids
    }

    var allIDs: [UInt64] { Array(waiting.keys) }

    var prefixIDs: [UInt64] { Array(onPrefixes) }

    /// Counts a change when the member list's digest moved since the last look; the
    /// queries on the member list to answer then (none when nothing changed).
    mutating func membersChanged(digest: UInt64) -> [UInt64] {
        guard digest != membersDigest else { return [] }
        // The first look only records where the list starts.
        if membersDigest != nil { membersIndex += 1 }
        membersDigest = digest
        return Array(onMembers)
    }
}
