import HearsayCore
import Testing

@testable import HearsayWire

private let mebibyte = 1024 * 1024

/// Bytes that compress somewhat, like real payloads: runs of repeated words mixed with noise.
private func sample(count: Int, using generator: inout SeededGenerator) -> [UInt8] {
    let words = [utf8("member "), utf8("alive "), utf8("suspect "), utf8("10.0.0.1:7946 ")]
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count + 16)
    while bytes.count < count {
        if Bool.random(using: &generator) {
            bytes += words.randomElement(using: &generator)!
        } else {
            bytes.append(UInt8.random(in: 0...255, using: &generator))
        }
    }
    return Array(bytes.prefix(count))
}

private func expectDecompressFailed(
    _ data: [UInt8], declaredSize: Int, cap: Int = mebibyte, sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        let output = try Compression.inflate(data, declaredSize: declaredSize, cap: cap)
        Issue.record("inflated \(output.count) bytes instead of failing", sourceLocation: sourceLocation)
    } catch {
        #expect(error.reason == "decompress_failed", "\(error)", sourceLocation: sourceLocation)
    }
}

@Suite struct CompressionTests {
    @Test func roundTripsAtRandomSizes() throws {
        var generator = SeededGenerator(seed: 4)
        var sizes = [0, 1, 2, 3, 64, 1303, 1400, 65_536, 65_537]
        for _ in 0..<20 { sizes.append(Int.random(in: 0...200_000, using: &generator)) }
        for size in sizes {
            let data = sample(count: size, using: &generator)
            let compressed = Compression.deflate(data)
            let inflated = try Compression.inflate(compressed, declaredSize: size, cap: mebibyte)
            #expect(inflated == data, "size \(size)")
        }
    }

    @Test func levelIsConfigurable() throws {
        var generator = SeededGenerator(seed: 9)
        let data = sample(count: 50_000, using: &generator)
        let stored = Compression.deflate(data, level: 0)
        let fastest = Compression.deflate(data, level: 1)
        let smallest = Compression.deflate(data, level: 9)
        #expect(stored.count > data.count)
        #expect(smallest.count < stored.count)
        #expect(smallest.count <= fastest.count)
        for compressed in [stored, fastest, smallest] {
            #expect(try Compression.inflate(compressed, declaredSize: data.count, cap: mebibyte) == data)
        }
    }

    @Test func datagramsAreDeflatedFastestAndLargeBodiesSmaller() {
        var random = SystemRandomNumberGenerator()
        let words = ["service", "zone", "web", "eu-west-1a", "client", "\"n\":", "{", "}"]
        let text = (0..<20_000).map { _ in words[Int(random.next() % UInt64(words.count))] }.joined()
        let small = Array(text.utf8.prefix(1400))
        let large = Array(text.utf8.prefix(100_000))
        #expect(Compression.defaultLevel(for: small.count) == 1 && Compression.defaultLevel(for: large.count) == 6)
        #expect(Compression.deflate(small) == Compression.deflate(small, level: 1))
        #expect(Compression.deflate(large) == Compression.deflate(large, level: 6))
    }

    @Test func honestlyDeclaredBombIsRefusedBeforeInflating() {
        let bomb = Compression.deflate([UInt8](repeating: 0, count: 64 * mebibyte))
        #expect(bomb.count < 100 * 1024)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            #expect(throws: WireError.self) {
                try Compression.inflate(bomb, declaredSize: 64 * mebibyte, cap: mebibyte)
            }
        }
        do {
            _ = try Compression.inflate(bomb, declaredSize: 64 * mebibyte, cap: mebibyte)
        } catch {
            #expect(error.reason == "too_large")
        }
        #expect(elapsed < .milliseconds(50))
    }

    @Test func bombLyingAboutItsSizeStopsAtTheDeclaredSize() {
        let bomb = Compression.deflate([UInt8](repeating: 0, count: 64 * mebibyte))
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            do throws(WireError) {
                _ = try Compression.inflate(bomb, declaredSize: mebibyte, cap: mebibyte)
                Issue.record("a 64 MiB bomb inflated under a 1 MiB declared size")
            } catch {
                // The message proves inflation stopped at the declared size rather than running on.
                #expect(error == .decompressFailed("inflates beyond the declared \(mebibyte) bytes"))
            }
        }
        // Inflating all 64 MiB takes tens of milliseconds even unloaded; 1 MiB takes about one.
        #expect(elapsed < .milliseconds(500))
    }

    @Test func oneKibibyteBombIsRejected() {
        let bomb = Compression.deflate([UInt8](repeating: 0, count: mebibyte + 16 * 1024), level: 9)
        #expect(bomb.count <= 1100)
        expectDecompressFailed(bomb, declaredSize: mebibyte)
        expectDecompressFailed(bomb, declaredSize: 1024)
        #expect(throws: WireError.tooLarge("declared inflated size 1064960 exceeds the cap of 1048576")) {
            try Compression.inflate(bomb, declaredSize: mebibyte + 16 * 1024, cap: mebibyte)
        }
    }

    @Test func declaredSizeMustBeExact() throws {
        var generator = SeededGenerator(seed: 1)
        let data = sample(count: 1000, using: &generator)
        let compressed = Compression.deflate(data)
        #expect(try Compression.inflate(compressed, declaredSize: 1000, cap: 1000) == data)
        expectDecompressFailed(compressed, declaredSize: 999)
        expectDecompressFailed(compressed, declaredSize: 1001)
        expectDecompressFailed(compressed, declaredSize: 0)
        expectDecompressFailed(compressed, declaredSize: -1)
        #expect(throws: WireError.self) { try Compression.inflate(compressed, declaredSize: 1000, cap: 999) }
        expectDecompressFailed(Compression.deflate([]), declaredSize: 1)
        #expect(try Compression.inflate(Compression.deflate([]), declaredSize: 0, cap: 0) == [])
    }

    @Test func truncatedStreamsAreRejected() {
        var generator = SeededGenerator(seed: 2)
        let data = sample(count: 3000, using: &generator)
        let compressed = Compression.deflate(data)
        for length in 0..<compressed.count {
            expectDecompressFailed(Array(compressed.prefix(length)), declaredSize: data.count)
        }
    }

    @Test func corruptAndTrailingBytesAreRejected() {
        var generator = SeededGenerator(seed: 3)
        let data = sample(count: 3000, using: &generator)
        let compressed = Compression.deflate(data)
        expectDecompressFailed(compressed + [0], declaredSize: data.count)
        expectDecompressFailed(compressed + compressed, declaredSize: data.count)
        for index in stride(from: 0, to: compressed.count, by: 97) {
            var corrupt = compressed
            corrupt[index] ^= 0x10
            expectDecompressFailed(corrupt, declaredSize: data.count)
        }
        for _ in 0..<50 {
            let garbage = (0..<Int.random(in: 1...200, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }
            expectDecompressFailed(garbage, declaredSize: data.count)
        }
    }
}
