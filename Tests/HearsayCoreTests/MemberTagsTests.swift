import Testing

@testable import HearsayCore

@Suite struct MemberTagsTests {
    private func tags(_ pairs: [String: String]) throws -> MemberTags { try MemberTags(pairs) }

    private func rumor(_ subject: Int, incarnation: UInt64, tags: MemberTags, sequence: UInt64 = 1) -> MemberRumor {
        MemberRumor(
            subject: T.id(subject), address: T.addr(subject), incarnation: incarnation, status: .alive,
            heartbeat: NodeHeartbeat(sequence: sequence, version: "1", capabilities: ["replication"], tags: tags))
    }

    private func apply(_ engine: inout Engine, _ rumor: MemberRumor) -> [Effect] {
        engine.receive(
            [T.message(from: 9, .heartbeat(rumor), ttl: 5)], from: T.addr(9), transport: .datagram, now: T.t0)
    }

    @Test func tagsWithinTheBoundsAreAcceptedAndOthersNamedInTheError() throws {
        let ok = try tags(["role": "web", "zone": "eu-1/a", "port": "8080,8443", "empty": ""])
        #expect(ok["role"] == "web")
        #expect(ok.description == "empty=,port=8080,8443,role=web,zone=eu-1/a")
        #expect(throws: ValidationError.self) { try tags(["": "x"]) }
        #expect(throws: ValidationError.self) { try tags(["ro:le": "x"]) }
        #expect(throws: ValidationError.self) { try tags(["ro=le": "x"]) }
        #expect(throws: ValidationError.self) { try tags(["role": "a\nb"]) }
        #expect(throws: ValidationError.self) { try tags(["role": "a\u{9B}b"]) }
        #expect(throws: ValidationError.self) { try tags(["role": "a\u{2028}b"]) }
        _ = try tags(["role": "café ☕"])
        #expect(throws: ValidationError.self) { try tags([String(repeating: "k", count: 65): ""]) }
        #expect(throws: ValidationError.self) { try tags(["k": String(repeating: "v", count: 120)]) }
        _ = try tags(["k": String(repeating: "v", count: 119)])
        // Five entries of 110 bytes each: each fits, together they pass 512.
        let big = Dictionary(uniqueKeysWithValues: (0..<5).map { ("k\($0)", String(repeating: "v", count: 108)) })
        do {
            _ = try tags(big)
            Issue.record("550 bytes of tags were accepted")
        } catch {
            #expect("\(error)".contains("512"))
        }
        let many = Dictionary(uniqueKeysWithValues: (0..<65).map { ("k\($0)", "") })
        #expect(throws: ValidationError.self) { try tags(many) }
    }

    @Test func tagsTravelAsCapabilityStringsAndComeBackApart() throws {
        let given = try tags(["role": "web", "zone": "a=b"])
        let heartbeat = NodeHeartbeat(version: "1", capabilities: ["replication"], tags: given)
        #expect(heartbeat.wireCapabilities == ["replication", "tag:role=web", "tag:zone=a=b"])
        let back = try #require(MemberTags.split(capabilities: heartbeat.wireCapabilities))
        #expect(back.capabilities == ["replication"])
        #expect(back.tags == given)
        #expect(MemberTags.split(capabilities: ["replication"])?.tags == MemberTags.none)
        #expect(MemberTags.split(capabilities: ["tag:role"]) == nil, "no value")
        #expect(MemberTags.split(capabilities: ["tag:a=1", "tag:a=2"]) == nil, "a key twice")
        #expect(MemberTags.split(capabilities: ["tag:a b=1"]) == nil, "a key outside the rules")
    }

    @Test func aCapabilityThatLooksLikeATagIsRefusedInTheConfig() {
        var config = T.config(0)
        config.capabilities = ["replication", "tag:role=web"]
        #expect(throws: ValidationError.self) { try config.validate() }
    }

    @Test func newTagsRaiseTheIncarnationAndSpreadAsFarAsAJoin() throws {
        var (engine, _) = try T.engine(0, peers: [1, 2, 3])
        let before = engine.incarnation
        let new = try tags(["role": "web"])
        let effects = engine.setTags(new, now: T.t0 + .seconds(1))
        #expect(engine.incarnation == before + 1)
        #expect(engine.members[T.id(0)]?.incarnation == before + 1)
        #expect(engine.heartbeat(of: T.id(0))?.tags == new)
        #expect(effects.logs.contains { $0.event == "member_updated" && $0["tags"] == "role=web" })
        let announced = effects.sentMessages.compactMap { sent -> (UInt8, MemberRumor)? in
            guard case .heartbeat(let rumor) = sent.message.payload, rumor.subject == T.id(0) else { return nil }
            return (sent.message.ttl, rumor)
        }
        #expect(!announced.isEmpty, "sent at once")
        #expect(announced.allSatisfy { $0.1.heartbeat?.tags == new && $0.1.incarnation == before + 1 })
        #expect(announced.allSatisfy { $0.0 > 1 }, "relayed, unlike a periodic heartbeat")

        let again = engine.setTags(new, now: T.t0 + .seconds(2))
        #expect(engine.incarnation == before + 1)
        #expect(again.logs.isEmpty && again.sends.isEmpty)
    }

    @Test func tagsSetBeforeTheStartAreAnnouncedWithTheFirstHeartbeat() throws {
        var engine = try Engine(config: T.config(0), seed: 1, now: T.t0)
        let effects = engine.setTags(try tags(["role": "db"]), now: T.t0)
        #expect(effects.isEmpty)
        #expect(engine.incarnation == 0)
        #expect(engine.heartbeat(of: T.id(0))?.tags["role"] == "db")
    }

    @Test func aPeersChangedTagsAreKeptAndLoggedOnceAsAnUpdate() throws {
        var (engine, _) = try T.engine(0, peers: [2])
        let web = try tags(["role": "web"])
        let joined = apply(&engine, rumor(1, incarnation: 5, tags: web))
        #expect(joined.logs.map(\.event) == ["member_joined"], "a newcomer's tags come with its join")
        #expect(engine.heartbeat(of: T.id(1))?.tags == web)

        let db = try tags(["role": "db"])
        let updated = apply(&engine, rumor(1, incarnation: 6, tags: db))
        #expect(updated.logs.filter { $0.event == "member_updated" }.count == 1)
        #expect(updated.logs.first { $0.event == "member_updated" }?["tags"] == "role=db")
        #expect(engine.heartbeat(of: T.id(1))?.tags == db)

        let echo = apply(&engine, rumor(1, incarnation: 6, tags: db, sequence: 2))
        #expect(!echo.logs.contains { $0.event == "member_updated" }, "a newer heartbeat with the same tags")
        let newer = apply(&engine, rumor(1, incarnation: 7, tags: db))
        #expect(!newer.logs.contains { $0.event == "member_updated" }, "a new incarnation with the same tags")
    }

    private func bare(_ subject: Int, incarnation: UInt64) -> MemberRumor {
        MemberRumor(subject: T.id(subject), address: T.addr(subject), incarnation: incarnation, status: .alive)
    }

    @Test func tagsThatComeBehindAnAckOfTheSameIncarnationAreStillTaken() throws {
        // An ack shows the new incarnation first, with no payload: the rumor with the new
        // tags comes after it, at that incarnation and with the same heartbeat sequence.
        var (engine, _) = try T.engine(0, peers: [2])
        _ = apply(&engine, rumor(1, incarnation: 5, tags: try tags(["role": "web"]), sequence: 10))
        _ = apply(&engine, bare(1, incarnation: 6))
        let db = try tags(["role": "db"])
        let late = apply(&engine, rumor(1, incarnation: 6, tags: db, sequence: 10))
        #expect(engine.heartbeat(of: T.id(1))?.tags == db)
        #expect(late.logs.contains { $0.event == "member_updated" })
        // A restarted member counts its heartbeats from 0 again.
        _ = apply(&engine, bare(1, incarnation: 9))
        let restarted = try tags(["role": "cache"])
        _ = apply(&engine, rumor(1, incarnation: 9, tags: restarted, sequence: 1))
        #expect(engine.heartbeat(of: T.id(1))?.tags == restarted)
        // An older payload of the current incarnation changes nothing.
        _ = apply(&engine, rumor(1, incarnation: 9, tags: db, sequence: 0))
        #expect(engine.heartbeat(of: T.id(1))?.tags == restarted)
    }

    @Test func aSuspectedMemberThatRefutesWithNewTagsIsAnUpdateToo() throws {
        var (engine, _) = try T.engine(0, peers: [2, 3])
        _ = apply(&engine, rumor(1, incarnation: 5, tags: try tags(["role": "web"])))
        _ = apply(&engine, T.rumor(1, .suspect, incarnation: 5, reporter: 2))
        let before = engine.tagChanges
        let refuted = apply(&engine, rumor(1, incarnation: 6, tags: try tags(["role": "db"])))
        #expect(refuted.logs.map(\.event).contains("member_refuted"))
        #expect(refuted.logs.map(\.event).contains("member_updated"))
        #expect(engine.tagChanges == before + 1)
    }
}
