import HearsayCore

/// Vector clocks received lately, found again by their encoding. A version travels with
/// its clock twice (in the message and in the version), and a node hears each version
/// from several peers: a clock whose bytes were decoded before shares the earlier clock
/// instead of a new list of entries, its names and its order check.
///
/// Direct-mapped like `AddressTable`. Only encodings of 2 to 32 bytes are kept (a clock of
/// one writer with a name of up to 29 bytes, or two with short names), as four words, so a
/// slot costs no allocation of its own; the empty clock costs nothing to decode anyway.
struct ClockTable {
    /// Where a clock's encoding would be kept, and the encoding itself.
    struct Key {
        let slot: Int
        let count: Int
        let words: (UInt64, UInt64, UInt64, UInt64)
    }

    private struct Slot {
        let count: Int
        let words: (UInt64, UInt64, UInt64, UInt64)
        let clock: VectorClock
    }

    /// The longest encoding kept.
    static let maxBytes = 32

    private var slots: [Slot?]
    /// 64 less the slot number's bits: the slot is the top bits of the hash, as in
    /// `AddressTable`, so that a counter in any byte of the encoding moves it.
    private let shift: UInt64

    /// A table of `slotCount` slots, a power of two; the default, zero, keeps nothing.
    init(slotCount: Int = 0) {
        precondition(slotCount >= 0 && slotCount & (slotCount &- 1) == 0, "slot count must be a power of two")
        slots = Array(repeating: nil, count: slotCount)
        shift = UInt64(64 - slotCount.trailingZeroBitCount)
    }

    /// Whether the table has any slot.
    var keepsAny: Bool { !slots.isEmpty }

    /// The key of the `count` bytes whose first 32 are `words` (anything past `count`,
    /// which must be 1 to 32, is masked off here).
    func key(count: Int, words raw: (UInt64, UInt64, UInt64, UInt64)) -> Key {
        func masked(_ word: UInt64, from index: Int) -> UInt64 {
            let bytes = count - index
            return bytes >= 8 ? word : bytes <= 0 ? 0 : word & ((1 &<< UInt64(8 * bytes)) &- 1)
        }
        let words = (masked(raw.0, from: 0), masked(raw.1, from: 8), masked(raw.2, from: 16), masked(raw.3, from: 24))
        let mixed =
            (words.0 ^ (words.1 &* 0x9E37_79B9_7F4A_7C15) ^ (words.2 &* 0xC2B2_AE3D_27D4_EB4F)
                ^ (words.3 &* 0x1656_67B1_9E37_79F9) ^ UInt64(count)) &* 0xBF58_476D_1CE4_E5B9
        return Key(slot: Int(truncatingIfNeeded: mixed >> shift), count: count, words: words)
    }

    /// The clock kept under `key`, if any.
    func clock(for key: Key) -> VectorClock? {
        guard let slot = slots[key.slot], slot.count == key.count, slot.words == key.words else { return nil }
        return slot.clock
    }

    /// Keeps `clock`, decoded from the bytes of `key`.
    mutating func store(_ clock: VectorClock, for key: Key) {
        slots[key.slot] = Slot(count: key.count, words: key.words, clock: clock)
    }
}
