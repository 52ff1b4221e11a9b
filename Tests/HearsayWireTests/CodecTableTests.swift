import HearsayCore
import Testing

@testable import HearsayWire

/// The direct-mapped tables a codec keeps: names that differ in one byte anywhere, as
/// families of keys do (`app/node-1`, `app/node-2`), must spread over the slots, or each
/// would push the others out and every lookup miss.
@Suite struct CodecTableTests {
    @Test func addressesThatDifferInTheirLastByteSpreadOverTheSlots() {
        let table = AddressTable(slotCount: 64)
        var slots = Set<Int>()
        for letter in "abcdefghijklmnop" {
            let text = Array("ucxl://agent:role@project:task/context-\(letter)".utf8)
            text.withUnsafeBytes { if let slot = table.slot(for: $0) { slots.insert(slot) } }
        }
        // 16 keys in 64 slots: about 2 collisions expected by chance.
        #expect(slots.count >= 11, "16 addresses in \(slots.count) slots")
    }

    @Test func clocksThatDifferInOneCounterSpreadOverTheSlots() {
        let table = ClockTable(slotCount: 64)
        // One writer, its counter the encoding's eighth byte: the top byte of the first word.
        var slots = Set<Int>()
        for counter in UInt8(1)...16 {
            var bytes: [UInt8] = [1, 5] + Array("abcde".utf8) + [counter]
            bytes += [UInt8](repeating: 0, count: 32 - bytes.count)
            let words = bytes.withUnsafeBytes { raw in
                (
                    raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                    raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                    raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self),
                    raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
                )
            }
            slots.insert(table.key(count: 8, words: words).slot)
        }
        #expect(slots.count >= 11, "16 clocks in \(slots.count) slots")
    }
}
