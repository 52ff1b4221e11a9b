/// One step of digest-based anti-entropy (the `metadata_sync` payload).
///
/// The initiator A and the responder B exchange, in order: A `root`; B `inSync` or
/// `buckets`; A `summaries` of the buckets that differ; B `push` of what A lacks with
/// a `request` for what B lacks; A `entries`. Equal stores cost two small messages,
/// and otherwise the bytes follow the number of differing entries.
///
/// A difference larger than a page (`AntiEntropySettings.syncPageBytes`) streams: A sends the
/// summaries of a page of buckets at a time, chosen so that what it holds in them fits
/// a page; B's push fills at most a page and names the page's buckets it left out
/// (`deferred`), which A asks for again; A asks for the next page once it applied the
/// last. One page is in flight per exchange, so memory on both sides stays bounded by
/// a page whatever the stores' sizes.
public struct SyncMessage: Hashable, Sendable {
    /// Chosen by the initiator; ties the steps of one exchange together.
    public var session: UInt64
    /// The step.
    public var step: SyncStep

    /// Creates a sync message.
    public init(session: UInt64, step: SyncStep) {
        self.session = session
        self.step = step
    }

    /// Encoded length: the session, a step byte, the step's fields.
    package var wireSize: Int { WireSize.varint(session) + 1 + step.wireSize }
}

/// The steps of an anti-entropy exchange; see `SyncMessage`.
public enum SyncStep: Hashable, Sendable {
    /// A's whole-store digest and entry count.
    case root(digest: UInt64, entryCount: Int)
    /// B's digest equals A's: nothing to do.
    case inSync
    /// B's bucket hashes, at a granularity chosen from both stores' sizes.
    case buckets(BucketDigest)
    /// A's entry summaries in the buckets that differ.
    case summaries(bits: Int, buckets: [Int], summaries: [EntrySummary])
    /// B's versions that A lacks or has differently, the addresses B wants, and the
    /// buckets of A's page that did not fit this push.
    case push(versions: [ContextMetadata], request: [MetadataAddress], deferred: [Int])
    /// A's versions of the addresses B asked for.
    case entries([ContextMetadata])

    /// Encoded length of the step's fields.
    package var wireSize: Int {
        switch self {
        case .root(_, let count):
            // The digest is a fixed 8 bytes: hashes are uniformly spread, a varint would grow them.
            return 8 + WireSize.varint(count)
        case .inSync:
            return 0
        case .buckets(let digest):
            return digest.wireSize
        case .summaries(_, let buckets, let summaries):
            return 1 + buckets.reduce(WireSize.varint(buckets.count)) { $0 + WireSize.varint($1) }
                + summaries.reduce(WireSize.varint(summaries.count)) { $0 + $1.wireSize }
        case .push(let versions, let request, let deferred):
            return Self.size(of: versions)
                + request.reduce(WireSize.varint(request.count)) { $0 + WireSize.string($1.rawValue) }
                + deferred.reduce(WireSize.varint(deferred.count)) { $0 + WireSize.varint($1) }
        case .entries(let versions):
            return Self.size(of: versions)
        }
    }

    private static func size(of versions: [ContextMetadata]) -> Int {
        versions.reduce(WireSize.varint(versions.count)) { $0 + $1.wireSize }
    }
}
