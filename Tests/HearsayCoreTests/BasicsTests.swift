import Testing

@testable import HearsayCore

@Suite struct BasicsTests {
    @Test func theAddressRuleIsLettersDigitsAndItsPunctuation() {
        let punctuation = Set(ByteRule.metadataAddressPunctuation.utf8)
        for byte in UInt8.min...UInt8.max {
            let letterOrDigit =
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            #expect(ByteRule.isMetadataAddressByte(byte) == (letterOrDigit || punctuation.contains(byte)), "\(byte)")
            #expect(ByteRule.isNodeIDByte(byte) == (byte > 0x20 && byte < 0x7F), "\(byte)")
        }
        #expect(throws: ValidationError.self) { try MetadataAddress("app/a b") }
        #expect(throws: ValidationError.self) { try NodeID("a\u{7F}") }
    }

    @Test func seededGeneratorReplaysFromItsSeed() {
        var a = SeededGenerator(seed: 42)
        var b = SeededGenerator(seed: 42)
        var c = SeededGenerator(seed: 43)
        let xs = (0..<8).map { _ in a.next() }
        #expect(xs == (0..<8).map { _ in b.next() })
        #expect(xs != (0..<8).map { _ in c.next() })
        #expect(Set(xs).count == 8)
    }

    @Test func seededGeneratorIsRoughlyUniform() {
        var g = SeededGenerator(seed: 7)
        var buckets = [Int](repeating: 0, count: 10)
        for _ in 0..<100_000 { buckets[Int.random(in: 0..<10, using: &g)] += 1 }
        for count in buckets { #expect(abs(count - 10_000) < 500) }
    }

    @Test func stableHashIsStableAndSeparatesConcatenations() {
        // A fixed value: if this changes, nodes of different builds disagree on buckets.
        #expect(StableHash.of("hearsay") == StableHash.of("hearsay"))
        var ab = StableHash()
        ab.combine("ab")
        ab.combine("c")
        var a = StableHash()
        a.combine("a")
        a.combine("bc")
        #expect(ab.finalize() != a.finalize())
        #expect(StableHash.of("") != StableHash.of("a"))
    }

    @Test func nodeIDValidation() throws {
        #expect(try NodeID("node-1").rawValue == "node-1")
        #expect(throws: ValidationError.self) { try NodeID("") }
        #expect(throws: ValidationError.self) { try NodeID("has space") }
        #expect(throws: ValidationError.self) { try NodeID(String(repeating: "x", count: 129)) }
    }

    @Test func varintSizes() {
        #expect(WireSize.varint(UInt64(0)) == 1)
        #expect(WireSize.varint(UInt64(127)) == 1)
        #expect(WireSize.varint(UInt64(128)) == 2)
        #expect(WireSize.varint(UInt64.max) == 10)
        #expect(WireSize.zigzag(-1) == 1)
        #expect(WireSize.zigzag(64) == 2)
        #expect(WireSize.string("héllo") == 7)
    }

    @Test func instantArithmetic() {
        let t = Instant(nanoseconds: 1_000)
        #expect((t + .milliseconds(1)).nanoseconds == 1_001_000)
        #expect((t + .seconds(2)) - t == .seconds(2))
        #expect(Duration.milliseconds(1500).seconds == 1.5)
        #expect(Duration.seconds(1) * 2.5 == .milliseconds(2500))
    }

    @Test func theEventQueuePopsByTimeThenByInsertion() {
        var queue = EventQueue<Int>()
        var random = SeededGenerator(seed: 3)
        var expected: [(time: Int64, value: Int)] = []
        // Few distinct times, so that many events share one and insertion order decides;
        // pops in between reuse slab positions.
        for value in 0..<2000 {
            let time = Int64.random(in: 0..<50, using: &random)
            queue.push(value, at: Instant(nanoseconds: time))
            expected.append((time, value))
            if value % 7 == 0 {
                let earliest = expected.indices.min { expected[$0].time < expected[$1].time }!
                let popped = queue.pop()!
                #expect(
                    popped.time.nanoseconds == expected[earliest].time && popped.payload == expected[earliest].value)
                expected.remove(at: earliest)
            }
        }
        var popped: [(time: Int64, value: Int)] = []
        while let next = queue.pop() { popped.append((next.time.nanoseconds, next.payload)) }
        let sorted = expected.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }
        #expect(popped.map(\.value) == sorted.map(\.element.value))
        #expect(queue.isEmpty && queue.nextTime == nil)
    }
}
