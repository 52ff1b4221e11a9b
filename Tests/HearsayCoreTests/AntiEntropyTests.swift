import Testing

@testable import HearsayCore

/// `AntiEntropy` on its own: rounds, their exchanges, and pages.
@Suite struct AntiEntropyTests {
    static let root = SyncStep.root(digest: 1, entryCount: 1)

    @Test func aRoundEndsWhenItsLastExchangeDoes() {
        var books = AntiEntropy(settings: AntiEntropySettings())
        let number = books.openRound(now: T.t0)
        #expect(number == 1)
        books.open(10, with: T.id(1), root: Self.root)
        books.open(11, with: T.id(2), root: Self.root)
        #expect(books.closeIfIdle(now: T.t0) == nil)
        #expect(books.sessionDone(10, now: T.t0 + .seconds(1)) == nil)
        let finished = books.sessionDone(11, now: T.t0 + .seconds(2))
        #expect(finished == AntiEntropy.FinishedRound(number: 1, duration: .seconds(2), unanswered: 0, timedOut: false))
        #expect(books.round == nil && books.sessions.isEmpty)
        #expect(books.lastRoundDuration == .seconds(2))
    }

    @Test func aRoundWithNoPeerEndsAtOnceAndATimedOutOneCountsWhatItWaitedFor() {
        var books = AntiEntropy(settings: AntiEntropySettings())
        _ = books.openRound(now: T.t0)
        #expect(books.closeIfIdle(now: T.t0)?.unanswered == 0)
        let second = books.openRound(now: T.t0)
        books.open(20, with: T.id(1), root: Self.root)
        #expect(books.roundTimedOut(second - 1, now: T.t0) == nil, "another round's timer")
        let finished = books.roundTimedOut(second, now: T.t0 + .seconds(10))
        #expect(finished?.unanswered == 1 && finished?.timedOut == true)
        #expect(books.session(20) == nil, "its exchange ended with it")
        // The next round's timer ends one still open the same way.
        _ = books.openRound(now: T.t0)
        books.open(21, with: T.id(1), root: Self.root)
        #expect(books.roundDue(now: T.t0 + .seconds(30))?.timedOut == true)
        #expect(books.nextRoundTime == T.t0 + .seconds(60))
    }

    @Test func aLargeDifferenceStreamsInPagesOutsideItsRound() throws {
        var settings = AntiEntropySettings()
        settings.syncPageBytes = 100
        var books = AntiEntropy(settings: settings)
        _ = books.openRound(now: T.t0)
        books.open(30, with: T.id(1), root: Self.root)
        books.answered(30)
        #expect(books.unansweredRoot(30) == nil)
        books.plan(30, bits: 2, differing: [0, 1, 2, 3], weights: [60, 60, 30, 30])
        let firstFound = books.nextPage(30)
        let first = try #require(firstFound)
        #expect(first.buckets == [0], "60 + 60 would pass the page")
        #expect(first.streams && first.startedStreaming && first.number == 1 && first.bucketsLeft == 4)
        #expect(books.streamingPeers == [T.id(1)])
        #expect(books.leaveRound(30, now: T.t0)?.unanswered == 0, "the round no longer waits for it")
        let secondFound = books.nextPage(30)
        let second = try #require(secondFound)
        #expect(second.buckets == [1, 2] && !second.startedStreaming && second.number == 2)
        #expect(books.deferBuckets(30, [1]) == [3, 1])
        _ = books.nextPage(30)
        guard case .streamed(let peer, let pages) = books.endExchange(30) else {
            Issue.record("it streamed")
            return
        }
        #expect(peer == T.id(1) && pages == 3)
        #expect(books.endExchange(30) == nil)
    }

    @Test func anExchangeThatFitsOnePageStaysInItsRound() throws {
        var books = AntiEntropy(settings: AntiEntropySettings())
        _ = books.openRound(now: T.t0)
        books.open(40, with: T.id(1), root: Self.root)
        books.plan(40, bits: 1, differing: [1], weights: [10, 10])
        let pageFound = books.nextPage(40)
        let page = try #require(pageFound)
        #expect(page.buckets == [1] && !page.streams && !page.startedStreaming)
        guard case .inRound = books.endExchange(40) else {
            Issue.record("it never streamed")
            return
        }
        #expect(books.round?.pending.isEmpty == true)
    }

    @Test func anExchangeOfARoundThatEndedEndsAlone() {
        var books = AntiEntropy(settings: AntiEntropySettings())
        let first = books.openRound(now: T.t0)
        books.open(50, with: T.id(1), root: Self.root)
        books.plan(50, bits: 1, differing: [0, 1], weights: [1 << 20, 1 << 20])
        #expect(books.nextPage(50)?.startedStreaming == true)
        #expect(books.leaveRound(50, now: T.t0)?.number == first, "the round waited for it alone")
        _ = books.openRound(now: T.t0 + .seconds(30))
        books.open(51, with: T.id(2), root: Self.root)
        // The streaming exchange ends later: the new round, which never waited for it, goes on.
        #expect(books.sessionDone(50, now: T.t0 + .seconds(31)) == nil)
        #expect(books.session(50) == nil)
        #expect(books.round?.pending == [51])
    }

    @Test func theLast64ResentDigestsAreRemembered() {
        var books = AntiEntropy(settings: AntiEntropySettings())
        _ = books.openRound(now: T.t0)
        books.open(1, with: T.id(1), root: Self.root)
        #expect(books.unansweredRoot(1)?.peer == T.id(1))
        for id in UInt64(1)...65 { books.resent(id) }
        #expect(!books.wasResent(1))
        #expect(books.wasResent(2) && books.wasResent(65))
        books.stop()
        #expect(books.round == nil && books.session(1) == nil && books.nextRoundTime == nil)
    }
}
