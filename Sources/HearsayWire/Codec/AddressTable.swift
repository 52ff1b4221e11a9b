import HearsayCore

/// Metadata addresses received lately, found again by their bytes. Gossip repeats itself:
/// a node hears each version from several peers and again in anti-entropy, and digests
/// and requests name the same addresses, so most addresses a node receives it has received
/// before. A repeat shares the earlier string instead of allocating a new one and checking
/// its characters again.
///
/// Direct-mapped: an address has one slot, chosen by a hash of its bytes, and a newer
/// address with the same slot takes it over. Only addresses of 16 to 127 bytes are kept:
/// shorter ones live inside their `String` and cost no allocation, and longer ones are rare.
/// A table holds at most its slot count of strings of at most 127 bytes.
struct AddressTable {
    private var slots: [MetadataAddress?]
    /// 64 less the slot number's bits: the slot is the top bits of the hash (`slot(for:)`).
    private let shift: UInt64

    /// A table of `slotCount` slots, a power of two; the default, zero, keeps nothing.
    init(slotCount: Int = 0) {
        precondition(slotCount >= 0 && slotCount & (slotCount &- 1) == 0, "slot count must be a power of two")
        slots = Array(repeating: nil, count: slotCount)
        shift = UInt64(64 - slotCount.trailingZeroBitCount)
    }

    /// Whether the table has any slot.
    var keepsAny: Bool { !slots.isEmpty }

    /// The slot for an address spelled `run`, or nil when the table does not keep it.
    @inline(__always)
    func slot(for run: UnsafeRawBufferPointer) -> Int? {
        let n = run.count
        guard n >= 16, n < 128, !slots.isEmpty else { return nil }
        // First, middle and last eight bytes: addresses often share a long prefix.
        let first = run.loadUnaligned(as: UInt64.self)
        let middle = run.loadUnaligned(fromByteOffset: n / 2 - 4, as: UInt64.self)
        let last = run.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        let mixed =
            (first ^ (middle &* 0x9E37_79B9_7F4A_7C15) ^ (last &* 0xC2B2_AE3D_27D4_EB4F) ^ UInt64(n))
            &* 0xBF58_476D_1CE4_E5B9
        // The top bits: a product's bits depend only on the bits below them, so a
        // difference in the last byte (`app/node-1`, `app/node-2`...) reaches only the
        // top byte. The bits from 32, taken before, put every such family in one slot,
        // where each address pushed the others out.
        return Int(truncatingIfNeeded: mixed >> shift)
    }

    /// The address in `slot` when it is spelled `run`.
    @inline(__always)
    func address(in slot: Int, spelled run: UnsafeRawBufferPointer) -> MetadataAddress? {
        guard let address = slots[slot], ByteReader.equal(address.rawValue, run) else { return nil }
        return address
    }

    /// Keeps `address`, a valid address, in `slot`.
    mutating func store(_ address: MetadataAddress, in slot: Int) {
        slots[slot] = address
    }
}
