import Foundation
import HearsayCore
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
        #expect(seeds.count == 15)
        for seed in seeds { #expect(FrameFuzzing.run(seed)) }
        var broken = seeds[seeds.count - 1]
        broken[broken.count / 2] ^= 1
        #expect(!FrameFuzzing.run(broken))
    }

    /// The tables a long-lived codec keeps (senders, addresses, clocks) are caches: over
    /// thousands of frames, shuffled and one in three damaged somewhere in its body, it
    /// must decode each exactly as the body decodes alone (a fresh codec), and its address table must have
    /// answered lookups, or the comparison proved nothing.
    @Test func aLongLivedCodecDecodesEveryFrameAsAFreshOneDoes() {
        let bodies = FrameFuzzing.sequenceBodies()
        var random = SeededGenerator(seed: 2026)
        var frames = 0
        var decoded = 0
        var shared = 0
        for _ in 0..<150 {
            var sequence: [(sender: Int, body: [UInt8])] = []
            for _ in 0..<FrameFuzzing.maxSequenceFrames {
                var body = bodies[Int(random.next() % UInt64(bodies.count))]
                switch random.next() % 6 {
                case 0: body[Int(random.next() % UInt64(body.count))] ^= 1 << UInt8(random.next() % 8)
                case 1: body[Int(random.next() % UInt64(body.count))] = UInt8(truncatingIfNeeded: random.next())
                default: break
                }
                sequence.append((Int(random.next() % 3), body))
            }
            let outcome = FrameFuzzing.runSequence(Array(FrameFuzzing.sequence(sequence).dropFirst()))
            #expect(outcome.mismatches.isEmpty, "\(outcome.mismatches)")
            frames += outcome.frames
            decoded += outcome.decoded
            shared += outcome.sharedAddresses
        }
        #expect(frames == 150 * FrameFuzzing.maxSequenceFrames)
        #expect(decoded > frames / 2 && decoded < frames, "\(decoded) of \(frames) decoded")
        #expect(shared > frames / 2, "the address table answered \(shared) lookups in \(frames) frames")
    }
}
