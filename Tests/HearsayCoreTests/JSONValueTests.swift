import Testing

@testable import HearsayCore

@Suite struct JSONValueTests {
    @Test func parsesEveryKindAndSpellsItCanonically() throws {
        let value = try JSONValue.parse(#" { "b" : [1, 2.5, -0.125e1, true, null], "a": "x\ny\u00e9\ud83d\ude00" } "#)
        #expect(value.canonicalText == #"{"a":"x\nyé😀","b":[1,2.5,-1.25,true,null]}"#)
        #expect(try JSONValue.parse(value.canonicalText) == value)
    }

    @Test func equalValuesInOtherSpellingsAreEqual() throws {
        #expect(try JSONValue.parse(#"{"x":1.0,"y":[]}"#) == JSONValue.parse(#"{ "y" : [ ], "x" : 1 }"#))
        #expect(JSONValue.number(1e21).canonicalText == "1e+21")
        #expect(JSONValue.string("\u{01}\"\\").canonicalText == #""\u0001\"\\""#)
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "1e", "\"abc", "tru", "nul", "[1] 2", "{\"a\":1,\"a\":2}",
        "\"\\x\"", "\"\\ud800\"", "\"\u{01}\"", "1e999", "{1:2}", "'a'",
    ])
    func rejectsMalformedDocumentsWithAReason(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func integersAreExactOrRefused() throws {
        // Issue 13, item 8: 2^53 + 1 used to be kept as 2^53.
        #expect(try JSONValue.parse("9007199254740992") == .number(9_007_199_254_740_992))
        #expect(try JSONValue.parse("-9007199254740992") == .number(-9_007_199_254_740_992))
        #expect(try JSONValue.parse("1234567890123456") == .number(1_234_567_890_123_456))
        for text in ["9007199254740993", "-9007199254740993", "12345678901234567890", "[1, 99999999999999999999999]"] {
            #expect(throws: JSONParseError.self, "\(text)") { try JSONValue.parse(text) }
        }
        // A fraction or an exponent is a floating-point number, rounded as such.
        #expect(try JSONValue.parse("9007199254740993.0") == .number(9_007_199_254_740_992))
        #expect(try JSONValue.parse("1e300") == .number(1e300))
    }

    @Test func rejectsNestingBeyondTheLimitWithoutCrashing() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(deep) }
        let ok = String(repeating: "[", count: JSONValue.maxDepth) + String(repeating: "]", count: JSONValue.maxDepth)
        #expect((try? JSONValue.parse(ok))?.depth == JSONValue.maxDepth)
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(bytes: [0x22, 0xFF, 0x22]) }
    }

    @Test func reportsWhereTheErrorIs() {
        do {
            _ = try JSONValue.parse(#"{"a": tru}"#)
            Issue.record("parsed")
        } catch {
            #expect(error.offset == 6)
            #expect(error.description.contains("expected 'true'"))
        }
    }

    @Test func theCanonicalTextIsOneSpellingKeysInByteOrder() throws {
        let cases = [
            (
                #"{"b":[1,2.5,-3,1e300,null,true,false],"a":{"z":"q\"uote\\\n\u0001","é":"ü"},"":[]}"#,
                #"{"":[],"a":{"z":"q\"uote\\\n\u0001","é":"ü"},"b":[1,2.5,-3,1e+300,null,true,false]}"#
            ),
            (#" "plain" "#, #""plain""#),
            (#""a\b\f\r\t\u001fz\"\\é\u0000""#, #""a\b\f\r\t\u001fz\"\\é\u0000""#), ("-0", "0"), ("-0.1", "-0.1"),
            ("[ ]", "[]"), ("{ }", "{}"),
            (#"[ { "k" : [ [ ] ] } , "\t" ]"#, #"[{"k":[[]]},"\t"]"#),
        ]
        for (text, canonical) in cases {
            let value = try JSONValue.parse(text)
            #expect(value.canonicalText == canonical, "\(text)")
            var bytes: [UInt8] = []
            value.writeCanonical(to: &bytes)
            #expect(bytes == Array(canonical.utf8), "\(text)")
        }
    }

    @Test func keysAreOrderedByTheirBytes() {
        let keys = ["", "a", "ab", "b", "B", "é", "e\u{301}", "z", "zz", "\u{1F600}", "a\u{0}", "aa", "Z"]
        for a in keys {
            for b in keys {
                #expect(JSONValue.precedes(a, b) == a.utf8.lexicographicallyPrecedes(b.utf8), "\(a) \(b)")
            }
        }
        // "e\u{301}" is equal to "é" as a `String`, so it cannot be a second key.
        let distinct = keys.filter { $0 != "e\u{301}" }
        let members = Dictionary(uniqueKeysWithValues: distinct.map { ($0, JSONValue.string($0)) })
        #expect(
            JSONValue.ordered(members).map(\.key) == distinct.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    }
}
