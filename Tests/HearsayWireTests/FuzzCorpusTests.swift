import Foundation
import Testing

@testable import FrameFuzzer

/// Replays the committed fuzz corpus and every crash ever found through the fuzzed
/// decoder: each must be handled (refused or decoded), never crash.
@Suite struct FuzzCorpusTests {
    private static let fuzzRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    private static func inputs(_ folder: String) -> [URL] {
        let dir = fuzzRoot.appendingPathComponent(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { dir.appendingPathComponent($0) }
    }

    @Test func theCorpusIsThere() {
        #expect(Self.inputs("corpus").count >= 11, "the seed corpus is missing")
    }

    @Test func everyCorpusInputAndEveryCrashReplaysCleanly() throws {
        for url in Self.inputs("corpus") + Self.inputs("crashes") {
            let bytes = [UInt8](try Data(contentsOf: url))
            FrameFuzzing.run(bytes)
        }
    }

    @Test func theSeedsDecode() throws {
        // Seeds must get past the signature and decode, or the fuzzer starts from nothing.
        let seeds = FrameFuzzing.seeds()
        #expect(seeds.count == 13)
        for seed in seeds { #expect(FrameFuzzing.run(seed)) }
        var broken = seeds[seeds.count - 1]
        broken[broken.count / 2] ^= 1
        #expect(!FrameFuzzing.run(broken))
    }
}
