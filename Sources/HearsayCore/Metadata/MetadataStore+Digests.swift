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
    package var wireSize: Int { 1 + WireSize.varint(hashes.count) + 8 * hashes.count }
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
    package var wireSize: Int { WireSize.string(address.rawValue) + 8 }
}

/// Digests at bucket and entry granularity, so that two stores find their differences
/// with bytes that follow the number of differing entries.
extension MetadataStore {
    /// The granularity for a store of `count` entries: about 32 entries a bucket, which
    /// balances the 8 bytes a bucket hash costs against the summaries of a differing
    /// bucket (see docs/protocol.md), at most 2^16 buckets.
    package static func bucketBits(forEntryCount count: Int) -> Int {
        guard count > 32 else { return 0 }
        return min(16, Math.ceilLog((count + 31) / 32, base: 2))
    }

    /// Which bucket `address` falls into at `bits`.
    package static func bucket(of address: MetadataAddress, bits: Int) -> Int {
        bucket(hash: StableHash.of(address.rawValue), bits: bits)
    }

    static func bucket(hash: UInt64, bits: Int) -> Int {
        bits == 0 ? 0 : Int(hash >> UInt64(64 - bits))
    }

    /// The bucket hashes of this store at `bits`.
    package func bucketDigest(bits: Int) -> BucketDigest {
        var hashes = [UInt64](repeating: 0, count: 1 << bits)
        for entry in allEntries {
            hashes[Self.bucket(hash: entry.addressHash, bits: bits)] ^= entry.entryHash
        }
        return BucketDigest(bits: bits, hashes: hashes)
    }

    /// The buckets where this store differs from `remote`, ascending.
    package func differingBuckets(from remote: BucketDigest) -> [Int] {
        let local = bucketDigest(bits: remote.bits)
        return local.hashes.indices.filter { local.hashes[$0] != remote.hashes[$0] }
    }

    /// Summaries of every entry in `buckets`, sorted by address.
    package func summaries(inBuckets buckets: [Int], bits: Int) -> [EntrySummary] {
        let wanted = Set(buckets)
        return allEntries.filter { wanted.contains(Self.bucket(hash: $0.addressHash, bits: bits)) }
            .map { EntrySummary(address: $0.address, hash: $0.entryHash) }
            .sorted { $0.address < $1.address }
    }

    /// Compares a peer's summaries of `buckets` with this store. Returns the versions to
    /// send it (entries it lacks or holds differently) and the addresses to ask it for
    /// (entries this store lacks or holds differently). Where both hold an entry
    /// differently, both sides send theirs, so each ends with the merge of the two.
    ///
    /// What is sent and asked for stays within `budget` bytes: buckets are taken in the
    /// order given, the first always, and those that no longer fit are returned as
    /// `deferred`, for the peer to ask about again.
    package func reconcile(remote: [EntrySummary], buckets: [Int], bits: Int, budget: Int = .max) -> (
        send: [ContextMetadata], request: [MetadataAddress], deferred: [Int]
    ) {
        let theirs = Dictionary(
            remote.map { ($0.address, $0.hash) }, uniquingKeysWith: { first, _ in first })
        let wanted = Set(buckets)
        var sendBy: [Int: [ContextMetadata]] = [:]
        var cost: [Int: Int] = [:]
        for entry in allEntries {
            let bucket = Self.bucket(hash: entry.addressHash, bits: bits)
            guard wanted.contains(bucket), theirs[entry.address] != entry.entryHash else { continue }
            sendBy[bucket, default: []].append(contentsOf: entry.versions)
            cost[bucket, default: 0] += entry.wireSize
        }
        var requestBy: [Int: [MetadataAddress]] = [:]
        for summary in remote where entry(summary.address)?.entryHash != summary.hash {
            let bucket = Self.bucket(of: summary.address, bits: bits)
            requestBy[bucket, default: []].append(summary.address)
            cost[bucket, default: 0] += WireSize.string(summary.address.rawValue)
        }
        var send: [ContextMetadata] = []
        var request: [MetadataAddress] = []
        var deferred: [Int] = []
        var used = 0
        for bucket in buckets {
            let bytes = cost[bucket] ?? 0
            if !deferred.isEmpty || (used > 0 && used + bytes > budget) {
                deferred.append(bucket)
                continue
            }
            used += bytes
            send += sendBy[bucket] ?? []
            request += requestBy[bucket] ?? []
        }
        // Sorted, so that both sides see one order whatever the table's.
        send.sort { $0.address < $1.address }
        request.sort()
        return (send, request, deferred)
    }

    /// What sending this store's share of each bucket costs at `bits`: its entries'
    /// summaries and versions, in encoded bytes. An initiator sizes its pages by it.
    package func bucketWeights(bits: Int) -> [Int] {
        var weights = [Int](repeating: 0, count: 1 << bits)
        for entry in allEntries {
            weights[Self.bucket(hash: entry.addressHash, bits: bits)] +=
                entry.wireSize + WireSize.string(entry.address.rawValue) + 8
        }
        return weights
    }
}
