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
        #expect(Self.inputs("corpus").count >= FrameFuzzing.seeds().count, "the seed corpus is missing")
    }

    /// Replayed in this process, a crash fails the suite. Beyond that, the corpus must
    /// still reach the decoder: after a change to the wire format or the fuzzer's key,
    /// inputs that no longer pass the signature would leave the fuzzer nothing to mutate.
    @Test func everyCorpusInputAndEveryCrashReplaysCleanly() throws {
        let corpus = Self.inputs("corpus")
        var decoded = 0
        for url in corpus {
            if FrameFuzzing.run([UInt8](try Data(contentsOf: url))) { decoded += 1 }
        }
        #expect(
            decoded == corpus.count,
            "\(decoded) of \(corpus.count) corpus inputs decode: write the seeds again (`FrameFuzzer --write-seeds Fuzz/corpus`)"
        )
        for url in Self.inputs("crashes") {
            FrameFuzzing.run([UInt8](try Data(contentsOf: url)))
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
