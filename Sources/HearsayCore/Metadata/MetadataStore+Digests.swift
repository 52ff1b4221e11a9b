/// The hash of one bucket of entries, at one granularity: what anti-entropy compares
/// before it looks at single entries.
public struct BucketDigest: Hashable, Sendable {
    /// Entries fall into `1 << bits` buckets by the top `bits` bits of their address hash.
    public var bits: Int
    /// XOR of the entry hashes in each bucket.
    public var hashes: [UInt64]

    /// Creates a digest.
    public init(bits: Int, hashes: [UInt64]) {
        self.bits = bits
        self.hashes = hashes
    }

    /// Encoded length: the bits byte, a count, then 8 bytes a bucket.
    public var wireSize: Int { 1 + WireSize.varint(hashes.count) + 8 * hashes.count }
}

/// An entry as anti-entropy names it: its address and the hash of what it holds.
public struct EntrySummary: Hashable, Sendable {
    /// The entry's address.
    public var address: MetadataAddress
    /// The entry's `entryHash`.
    public var hash: UInt64

    /// Creates a summary.
    public init(address: MetadataAddress, hash: UInt64) {
        self.address = address
        self.hash = hash
    }

    /// Encoded length: the address and 8 bytes of hash.
    public var wireSize: Int { WireSize.string(address.rawValue) + 8 }
}

/// Digests at bucket and entry granularity, so that two stores find their differences
/// with bytes that follow the number of differing entries.
extension MetadataStore {
    /// The granularity for a store of `count` entries: about 32 entries a bucket, which
    /// balances the 8 bytes a bucket hash costs against the summaries of a differing
    /// bucket (see docs/protocol.md), at most 2^16 buckets.
    public static func bucketBits(forEntryCount count: Int) -> Int {
        guard count > 32 else { return 0 }
        return min(16, Math.ceilLog((count + 31) / 32, base: 2))
    }

    /// Which bucket `address` falls into at `bits`.
    public static func bucket(of address: MetadataAddress, bits: Int) -> Int {
        bucket(hash: StableHash.of(address.rawValue), bits: bits)
    }

    static func bucket(hash: UInt64, bits: Int) -> Int {
        bits == 0 ? 0 : Int(hash >> UInt64(64 - bits))
    }

    /// The bucket hashes of this store at `bits`.
    public func bucketDigest(bits: Int) -> BucketDigest {
        var hashes = [UInt64](repeating: 0, count: 1 << bits)
        for entry in allEntries {
            hashes[Self.bucket(hash: entry.addressHash, bits: bits)] ^= entry.entryHash
        }
        return BucketDigest(bits: bits, hashes: hashes)
    }

    /// The buckets where this store differs from `remote`, ascending.
    public func differingBuckets(from remote: BucketDigest) -> [Int] {
        let local = bucketDigest(bits: remote.bits)
        return local.hashes.indices.filter { local.hashes[$0] != remote.hashes[$0] }
    }

    /// Summaries of every entry in `buckets`, sorted by address.
    public func summaries(inBuckets buckets: [Int], bits: Int) -> [EntrySummary] {
        let wanted = Set(buckets)
        return allEntries.filter { wanted.contains(Self.bucket(hash: $0.addressHash, bits: bits)) }
            .map { EntrySummary(address: $0.address, hash: $0.entryHash) }
            .sorted { $0.address < $1.address }
    }

    /// Compares a peer's summaries of `buckets` with this store. Returns the versions to
    /// send it (entries it lacks or holds differently) and the addresses to ask it for
    /// (entries this store lacks or holds differently). Where both hold an entry
    /// differently, both sides send theirs, so each ends with the merge of the two.
    public func reconcile(remote: [EntrySummary], buckets: [Int], bits: Int) -> (
        send: [ContextMetadata], request: [MetadataAddress]
    ) {
        let theirs = Dictionary(
            remote.map { ($0.address, $0.hash) }, uniquingKeysWith: { first, _ in first })
        var send: [ContextMetadata] = []
        var request: [MetadataAddress] = []
        for summary in summaries(inBuckets: buckets, bits: bits) {
            if theirs[summary.address] != summary.hash, let entry = entry(summary.address) {
                send.append(contentsOf: entry.versions)
            }
        }
        for summary in remote where entry(summary.address)?.entryHash != summary.hash {
            request.append(summary.address)
        }
        return (send, request)
    }
}
