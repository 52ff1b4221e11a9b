/// An operator's change to the cluster's keyring, asked of every member by the node the
/// operator called (`hearsay keys`), and each member's answer. Not one of the Go original's
/// types: the Go original had no keys to manage.
///
/// The engine has no part in it (keys belong to the wire layer): the node answers these
/// itself. The key travels sealed (`sealedKey`), so that a cluster that signs frames
/// without encrypting them does not show it to whoever reads the network.
public enum KeyringMessage: Hashable, Sendable {
    case request(KeyringRequest)
    case response(KeyringResponse)

    /// Encoded length per `WireSize`'s rules: a kind byte, then the fields.
    package var wireSize: Int {
        switch self {
        case .request(let request):
            1 + WireSize.varint(request.id) + 1 + WireSize.varint(request.sealedKey.count) + request.sealedKey.count
        case .response(let response):
            1 + WireSize.varint(response.id) + WireSize.optional(response.refusal) { WireSize.string($0) }
                + WireSize.string(response.primary) + WireSize.strings(response.keys)
        }
    }
}

/// What a keyring request asks.
public enum KeyringOperation: UInt8, Sendable, CaseIterable {
    /// Answer with the keys held.
    case list = 0
    /// Accept frames signed with the key too.
    case install = 1
    /// Sign with the (installed) key from now on.
    case use = 2
    /// Stop accepting the key.
    case remove = 3

    /// The operation's name, as the API spells it.
    public var name: String {
        switch self {
        case .list: "list"
        case .install: "install"
        case .use: "use"
        case .remove: "remove"
        }
    }
}

/// One keyring request.
public struct KeyringRequest: Hashable, Sendable {
    /// Chosen by the node that asks; answers carry it back.
    public var id: UInt64
    public var operation: KeyringOperation
    /// The key, sealed under a key derived from the one that signs the frame; empty for
    /// `list`.
    public var sealedKey: [UInt8]

    /// Creates a request.
    public init(id: UInt64, operation: KeyringOperation, sealedKey: [UInt8] = []) {
        self.id = id
        self.operation = operation
        self.sealedKey = sealedKey
    }
}

/// A member's answer to a keyring request: done, or why not, and its keys afterwards.
public struct KeyringResponse: Hashable, Sendable {
    /// The request's id.
    public var id: UInt64
    /// Why the member did not do it; nil when it did.
    public var refusal: String?
    /// The id of the member's primary key, afterwards.
    public var primary: String
    /// The ids of every key the member accepts, afterwards, primary first.
    public var keys: [String]

    /// Creates an answer.
    public init(id: UInt64, refusal: String?, primary: String, keys: [String]) {
        self.id = id
        self.refusal = refusal
        self.primary = primary
        self.keys = keys
    }
}
