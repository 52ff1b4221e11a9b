import HearsayCore
import Testing

@testable import HearsayWire

private let now: Int64 = 1_700_000_000_000

@Suite struct ReplayWindowTests {
    @Test func duplicateIsRejected() {
        var window = ReplayWindow()
        #expect(window.check(sender: "a", sequence: 7, timestampMillis: now, nowMillis: now) == .accepted)
        #expect(window.check(sender: "a", sequence: 7, timestampMillis: now, nowMillis: now) == .duplicate)
        #expect(window.check(sender: "a", sequence: 8, timestampMillis: now, nowMillis: now) == .accepted)
        #expect(window.check(sender: "a", sequence: 7, timestampMillis: now, nowMillis: now) == .duplicate)
        #expect(window.check(sender: "a", sequence: 8, timestampMillis: now, nowMillis: now) == .duplicate)
        // Sequence numbers are per sender.
        #expect(window.check(sender: "b", sequence: 7, timestampMillis: now, nowMillis: now) == .accepted)
        #expect(ReplayVerdict.duplicate.error?.reason == "replay")
        #expect(ReplayVerdict.accepted.error == nil)
    }

    @Test func outOfOrderWithinTheWindowIsAcceptedOnce() {
        var window = ReplayWindow()
        #expect(window.check(sender: "a", sequence: 2000, timestampMillis: now, nowMillis: now) == .accepted)
        for sequence: UInt64 in [1999, 1500, 977, 1001, 1990, 1064, 1063] {
            #expect(window.check(sender: "a", sequence: sequence, timestampMillis: now, nowMillis: now) == .accepted)
            #expect(window.check(sender: "a", sequence: sequence, timestampMillis: now, nowMillis: now) == .duplicate)
        }
        // 1024 below the highest has left the window.
        #expect(window.check(sender: "a", sequence: 976, timestampMillis: now, nowMillis: now) == .belowWindow)
        #expect(window.check(sender: "a", sequence: 0, timestampMillis: now, nowMillis: now) == .belowWindow)
    }

    @Test func marksMoveWithTheHighestSequence() {
        var window = ReplayWindow()
        // Jumps of every size across word boundaries keep exactly the seen numbers marked.
        var seen: Set<UInt64> = []
        var highest: UInt64 = 0
        var generator = SeededGenerator(seed: 1024)
        for _ in 0..<3000 {
            let sequence: UInt64
            if Bool.random(using: &generator) {
                sequence = highest + UInt64.random(in: 1...200, using: &generator)
            } else {
                sequence = highest &- UInt64.random(in: 0...1100, using: &generator)
            }
            guard sequence <= UInt64.max / 2 else { continue }
            let verdict = window.check(sender: "a", sequence: sequence, timestampMillis: now, nowMillis: now)
            let expected: ReplayVerdict
            if seen.isEmpty || sequence > highest {
                expected = .accepted
            } else if highest - sequence >= ReplayWindow.windowSize {
                expected = .belowWindow
            } else if seen.contains(sequence) {
                expected = .duplicate
            } else {
                expected = .accepted
            }
            #expect(verdict == expected, "sequence \(sequence), highest \(highest)")
            if verdict == .accepted {
                seen.insert(sequence)
                highest = max(highest, sequence)
            }
        }
    }

    @Test func largeJumpClearsTheWindow() {
        var window = ReplayWindow()
        #expect(window.check(sender: "a", sequence: 10, timestampMillis: now, nowMillis: now) == .accepted)
        #expect(window.check(sender: "a", sequence: 10 + 5000, timestampMillis: now, nowMillis: now) == .accepted)
        #expect(
            window.check(sender: "a", sequence: 10 + 5000 - 1023, timestampMillis: now, nowMillis: now) == .accepted)
        #expect(window.check(sender: "a", sequence: 10, timestampMillis: now, nowMillis: now) == .belowWindow)
        // A jump of exactly 64 moves a mark by one whole word.
        #expect(window.check(sender: "b", sequence: 100, timestampMillis: now, nowMillis: now) == .accepted)
        #expect(window.check(sender: "b", sequence: 164, timestampMillis: now, nowMillis: now) == .accepted)
        #expect(window.check(sender: "b", sequence: 100, timestampMillis: now, nowMillis: now) == .duplicate)
        #expect(window.check(sender: "b", sequence: 101, timestampMillis: now, nowMillis: now) == .accepted)
    }

    @Test func staleAndFutureTimestampsAreRejectedWithoutRecording() {
        var window = ReplayWindow()
        let fiveMinutes: Int64 = 5 * 60 * 1000
        let oneMinute: Int64 = 60 * 1000
        #expect(
            window.check(sender: "a", sequence: 1, timestampMillis: now - fiveMinutes - 1, nowMillis: now) == .stale)
        #expect(window.check(sender: "a", sequence: 1, timestampMillis: now + oneMinute + 1, nowMillis: now) == .future)
        #expect(window.trackedSenderCount == 0)
        // The bounds themselves are accepted, and the rejected attempts did not burn sequence 1.
        #expect(window.check(sender: "a", sequence: 1, timestampMillis: now - fiveMinutes, nowMillis: now) == .accepted)
        #expect(window.check(sender: "a", sequence: 2, timestampMillis: now + oneMinute, nowMillis: now) == .accepted)
        #expect(window.check(sender: "a", sequence: 3, timestampMillis: .min, nowMillis: now) == .stale)
        #expect(window.check(sender: "a", sequence: 3, timestampMillis: .max, nowMillis: now) == .future)
        #expect(ReplayVerdict.stale.error == .replay("timestamp older than the maximum age"))

        var strict = ReplayWindow(maxAgeMillis: 1000, maxFutureSkewMillis: 0)
        #expect(strict.check(sender: "a", sequence: 1, timestampMillis: now - 1001, nowMillis: now) == .stale)
        #expect(strict.check(sender: "a", sequence: 1, timestampMillis: now + 1, nowMillis: now) == .future)
        #expect(strict.check(sender: "a", sequence: 1, timestampMillis: now, nowMillis: now) == .accepted)
    }

    @Test func senderTableIsBoundedAndEvictsLeastRecentlySeen() {
        var window = ReplayWindow(maxSenders: 3)
        for (index, sender) in ["a", "b", "c"].enumerated() {
            #expect(
                window.check(sender: sender, sequence: 1, timestampMillis: now, nowMillis: now + Int64(index))
                    == .accepted)
        }
        // "a" is seen again, so "b" is now the least recently seen.
        #expect(window.check(sender: "a", sequence: 2, timestampMillis: now, nowMillis: now) == .accepted)
        #expect(window.check(sender: "d", sequence: 1, timestampMillis: now, nowMillis: now) == .accepted)
        #expect(window.trackedSenderCount == 3)
        #expect(window.check(sender: "a", sequence: 2, timestampMillis: now, nowMillis: now) == .duplicate)
        #expect(window.check(sender: "c", sequence: 1, timestampMillis: now, nowMillis: now) == .duplicate)
        #expect(window.check(sender: "d", sequence: 1, timestampMillis: now, nowMillis: now) == .duplicate)
        // "b" was forgotten; only the timestamp bound protects it now.
        #expect(window.check(sender: "b", sequence: 1, timestampMillis: now, nowMillis: now) == .accepted)
        #expect(window.trackedSenderCount == 3)

        var flooded = ReplayWindow(maxSenders: 100)
        for index in 0..<10_000 {
            _ = flooded.check(sender: "forged-\(index)", sequence: 1, timestampMillis: now, nowMillis: now)
        }
        #expect(flooded.trackedSenderCount == 100)
    }

    @Test func datagramAndStreamSequencesHaveWindowsOfTheirOwn() {
        var window = ReplayWindow()
        let stream = ReplayWindow.streamBit
        #expect(window.check(sender: "a", sequence: stream | 10, timestampMillis: now, nowMillis: now) == .accepted)
        // Thousands of datagrams sealed after the next stream frame arrive before it.
        for sequence in UInt64(11)...5000 {
            #expect(window.check(sender: "a", sequence: sequence, timestampMillis: now, nowMillis: now) == .accepted)
        }
        #expect(window.check(sender: "a", sequence: stream | 11, timestampMillis: now, nowMillis: now) == .accepted)
        #expect(window.trackedSenderCount == 2)
        // Each sequence still refuses its own replays, whichever transport brings them.
        #expect(window.check(sender: "a", sequence: stream | 11, timestampMillis: now, nowMillis: now) == .duplicate)
        #expect(window.check(sender: "a", sequence: 5000, timestampMillis: now, nowMillis: now) == .duplicate)
        #expect(window.check(sender: "a", sequence: 11, timestampMillis: now, nowMillis: now) == .belowWindow)
    }

    @Test func oneFrameCannotMoveASendersWindowPastWhatItsClockAllows() {
        var window = ReplayWindow()
        let running = UInt64(now - 3_600_000) << 12  // started an hour ago
        #expect(window.check(sender: "a", sequence: running, timestampMillis: now, nowMillis: now) == .accepted)
        // A key holder's frame numbered near 2^64 is refused and moves nothing.
        for forged in [UInt64.max >> 1, UInt64.max, UInt64(now + 3_600_000) << 12] {
            #expect(window.check(sender: "a", sequence: forged, timestampMillis: now, nowMillis: now) == .implausible)
        }
        #expect(window.check(sender: "a", sequence: running + 1, timestampMillis: now, nowMillis: now) == .accepted)
        // The most one frame can do is move the window to about its own time; a sender
        // restarted after that numbers above it again.
        let ahead = UInt64(now + ReplayWindow.sequenceLeadMillis) << 12
        #expect(window.check(sender: "a", sequence: ahead, timestampMillis: now, nowMillis: now) == .accepted)
        #expect(window.check(sender: "a", sequence: running + 2, timestampMillis: now, nowMillis: now) == .belowWindow)
        let later = now + ReplayWindow.sequenceLeadMillis + 1000
        #expect(
            window.check(sender: "a", sequence: UInt64(later) << 12, timestampMillis: later, nowMillis: later)
                == .accepted)
    }
}
