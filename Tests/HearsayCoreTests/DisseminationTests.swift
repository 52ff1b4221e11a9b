import Testing

@testable import HearsayCore

/// `Dissemination` on its own: which news of a frame places it on the push ring.
@Suite struct DisseminationTests {
    static func version(_ name: String) -> BroadcastQueue.Key {
        .version(T.address(name), VectorClock())
    }

    @Test func theFirstMetadataUpdatePlacesAFramesNewsElseTheFirstRumor() {
        var parts = Dissemination(settings: DisseminationSettings(), protecting: .member(T.id(0)))
        #expect(parts.takeNews() == nil)
        parts.noteNews(.member(T.id(1)), from: T.addr(4), origin: T.id(1))
        parts.noteNews(.member(T.id(2)), from: T.addr(5), origin: T.id(2))
        parts.noteNews(Self.version("app/a"), from: T.addr(6), origin: T.id(7))
        parts.noteNews(Self.version("app/b"), from: T.addr(9), origin: T.id(8))
        let news = parts.takeNews()
        #expect(news?.keys.count == 4)
        #expect(news?.origin == T.id(7), "the first update's writer")
        #expect(news?.sender == T.addr(6), "where the first update came from")
        #expect(parts.takeNews() == nil, "taken once")
        parts.noteNews(.member(T.id(3)), from: nil, origin: T.id(3))
        parts.noteNews(.member(T.id(4)), from: T.addr(4), origin: T.id(4))
        let rumors = parts.takeNews()
        #expect(rumors?.origin == T.id(3) && rumors?.sender == nil, "rumors alone: the first one places them")
    }

    @Test func withoutEagerPushNothingIsNoted() {
        var settings = DisseminationSettings()
        settings.eagerPush = false
        var parts = Dissemination(settings: settings, protecting: .member(T.id(0)))
        parts.noteNews(.member(T.id(1)), from: T.addr(1), origin: T.id(1))
        #expect(parts.takeNews() == nil)
    }

    @Test func thePushLeavesTheTicksThreeSends() {
        var parts = Dissemination(settings: DisseminationSettings(), protecting: .member(T.id(0)))
        let key = BroadcastQueue.Key.member(T.id(1))
        _ = parts.queue.enqueue(T.message(from: 1, .heartbeat(T.rumor(1, .alive))), key: key, kind: .membership)
        let limit = parts.retransmitLimit(liveMembers: 100)
        #expect(limit == 12, "4 x ceil(log10 101)")
        parts.pushed([key], limit: limit)
        #expect(parts.queue.transmits(of: key) == limit - 3)
    }

    @Test func theRingSendsAWriteHereToPowerOfTwoDistances() {
        var parts = Dissemination(settings: DisseminationSettings(), protecting: .member(T.id(0)))
        let members = MemberTable(
            (0..<16).map {
                Member(id: T.id($0), address: T.addr($0), incarnation: 0, status: .alive, statusChangedAt: T.t0)
            })
        let ring = members.all.map(\.id).sorted()
        let me = ring[0]
        let targets = parts.ringTargets(in: members, me: me, from: nil, origin: nil).map(\.id)
        #expect(targets == [1, 2, 4, 8].map { ring[$0] })
    }
}
