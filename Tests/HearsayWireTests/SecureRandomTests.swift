import Testing

@testable import HearsayWire

@Suite struct SecureRandomTests {
    @Test func producesTheRequestedCountOfVaryingBytes() {
        #expect(SecureRandom.bytes(count: 0).isEmpty)
        let first = SecureRandom.bytes(count: 64)
        let second = SecureRandom.bytes(count: 64)
        #expect(first.count == 64)
        // 2^-512 chance of a false failure.
        #expect(first != second)
        // A stuck generator would repeat one byte value; 64 random bytes take many distinct values.
        #expect(Set(first).count > 16)
    }

    @Test func fillsABufferInPlace() {
        var buffer = [UInt8](repeating: 0, count: 32)
        buffer.withUnsafeMutableBytes { SecureRandom.fill($0) }
        #expect(buffer != [UInt8](repeating: 0, count: 32))
    }
}
