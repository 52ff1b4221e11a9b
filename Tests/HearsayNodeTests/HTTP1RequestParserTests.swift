import NIOCore
import NIOHTTP1
import Testing

@testable import HearsayNode

/// The API's HTTP/1 parser on its own: requests whole and a byte at a time, pipelined,
/// chunked, and every kind of malformed input it must refuse.
@Suite struct HTTP1RequestParserTests {
    /// One parsed request: its head and its body.
    struct Parsed {
        var head: HTTP1RequestHead
        var body: [UInt8]
    }

    /// Feeds `text` in pieces of `step` bytes (all at once for 0) and collects the
    /// requests; throws the first parse error.
    private func parse(_ text: String, step: Int = 0) throws(HTTP1ParseError) -> [Parsed] {
        let bytes = Array(text.utf8)
        var parser = HTTP1RequestParser()
        var buffer = ByteBuffer()
        var requests: [Parsed] = []
        var current: Parsed?
        var offset = 0
        repeat {
            let end = step == 0 ? bytes.count : min(bytes.count, offset + step)
            buffer.writeBytes(bytes[offset..<end])
            offset = end
            while let part = try parser.next(&buffer) {
                switch part {
                case .head(let head): current = Parsed(head: head, body: [])
                case .body(let slice): current?.body += slice.readableBytesView
                case .end:
                    if let current { requests.append(current) }
                    current = nil
                }
            }
        } while offset < bytes.count
        return requests
    }

    private func refusal(_ text: String) -> HTTP1ParseError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func aRequestWithABodyReadsTheSameWholeOrAByteAtATime() throws {
        let text = "PUT /v1/metadata/a%2Fb?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nX-Thing:  a b \r\n\r\nhello"
        for step in [0, 1, 2, 7] {
            let requests = try parse(text, step: step)
            #expect(requests.count == 1, "step \(step)")
            let request = try #require(requests.first)
            #expect(request.head.method == .PUT)
            #expect(request.head.uri == "/v1/metadata/a%2Fb?x=1")
            #expect(request.head.version == .http1_1)
            #expect(request.head.keepAlive)
            #expect(request.head.headers.first(name: "x-thing") == "a b")
            #expect(String(decoding: request.body, as: UTF8.self) == "hello")
        }
    }

    @Test func pipelinedRequestsComeOutInOrder() throws {
        let text = "GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /c HTTP/1.0\r\n\r\n"
        for step in [0, 1, 5] {
            let requests = try parse(text, step: step)
            #expect(requests.map(\.head.uri) == ["/a", "/b", "/c"])
            #expect(requests.map { String(decoding: $0.body, as: UTF8.self) } == ["", "hi", ""])
            #expect(requests.map(\.head.keepAlive) == [true, true, false], "HTTP/1.0 closes unless asked")
        }
    }

    @Test func connectionHeadersDecideKeepAlive() throws {
        let close = try parse("GET / HTTP/1.1\r\nConnection: Upgrade, Close\r\n\r\n")
        #expect(close.first?.head.keepAlive == false)
        let kept = try parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(kept.first?.head.keepAlive == true)
    }

    @Test func aChunkedBodyIsJoinedAndItsTrailersSkipped() throws {
        let text =
            "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n6 \r\n world\r\n0\r\n"
            + "Trailer: t\r\n\r\nGET /next HTTP/1.1\r\n\r\n"
        for step in [0, 1, 3] {
            let requests = try parse(text, step: step)
            #expect(requests.map(\.head.uri) == ["/x", "/next"], "step \(step)")
            #expect(requests.first.map { String(decoding: $0.body, as: UTF8.self) } == "hello world")
            #expect(requests.first?.head.body == .chunked)
        }
    }

    @Test func bareLineFeedsAndLeadingEmptyLinesAreRead() throws {
        let requests = try parse("\r\n\nGET /a HTTP/1.1\nHost: h\n\n")
        #expect(requests.map(\.head.uri) == ["/a"])
        #expect(requests.first?.head.headers.first(name: "host") == "h")
    }

    @Test func expectContinueIsReportedOnlyWithABody() throws {
        let withBody = try parse("PUT /a HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx")
        #expect(withBody.first?.head.expectsContinue == true)
        let without = try parse("GET /a HTTP/1.1\r\nExpect: 100-continue\r\n\r\n")
        #expect(without.first?.head.expectsContinue == false)
    }

    @Test func malformedRequestsAreRefusedWithAReason() {
        let cases: [(String, String, HTTPResponseStatus)] = [
            ("no spaces", "GARBAGE\r\n\r\n", .badRequest),
            ("HTTP/2", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", .badRequest),
            ("two spaces", "GET  / HTTP/1.1\r\n\r\n", .badRequest),
            ("a space in the target", "GET /a b HTTP/1.1\r\n\r\n", .badRequest),
            ("a non-ASCII target", "GET /\u{e9} HTTP/1.1\r\n\r\n", .badRequest),
            ("a bad method", "G(T / HTTP/1.1\r\n\r\n", .badRequest),
            ("no colon", "GET / HTTP/1.1\r\nHost x\r\n\r\n", .badRequest),
            ("space before the colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", .badRequest),
            ("a folded line", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", .badRequest),
            ("a control character", "GET / HTTP/1.1\r\nX: a\u{1}b\r\n\r\n", .badRequest),
            ("a negative length", "PUT / HTTP/1.1\r\nContent-Length: -5\r\n\r\n", .badRequest),
            ("a length with a sign", "PUT / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", .badRequest),
            ("a huge length", "PUT / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", .badRequest),
            (
                "two lengths that differ", "PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                .badRequest
            ),
            (
                "a length beside chunked",
                "PUT / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", .badRequest
            ),
            ("gzip", "PUT / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", .notImplemented),
            ("chunked in HTTP/1.0", "PUT / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", .badRequest),
            ("a bad chunk size", "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", .badRequest),
            (
                "a chunk too large", "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
                .badRequest
            ),
            (
                "a chunk longer than said", "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
                .badRequest
            ),
            (
                "a bare LF after a chunk size", "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\nab\r\n",
                .badRequest
            ),
            (
                "a bare LF after a chunk", "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\n0\r\n\r\n",
                .badRequest
            ),
            (
                "a bare CR in a chunk extension",
                "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;a\rb\r\na\r\n0\r\n\r\n", .badRequest
            ),
            (
                "gzip then chunked on two lines",
                "PUT / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                .notImplemented
            ),
            (
                "chunked twice", "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
                .badRequest
            ),
            ("an empty coding", "PUT / HTTP/1.1\r\nTransfer-Encoding: ,\r\n\r\n", .badRequest),
            (
                "trailers ended by a bare LF",
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\nGET /admin HTTP/1.1\r\n\r\n", .badRequest
            ),
            (
                "a trailer without a colon",
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nno colon\r\n\r\n", .badRequest
            ),
            (
                "a bare CR in a trailer",
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: a\rb\r\n\r\n", .badRequest
            ),
        ]
        for (what, text, status) in cases {
            let error = refusal(text)
            #expect(error?.status == status, "\(what): \(String(describing: error))")
            #expect(error.map { !$0.reason.isEmpty } ?? false, "\(what): no reason")
        }
        let twoEqualLengths = try? parse("PUT / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab")
        #expect(twoEqualLengths?.first?.body.count == 2, "the same length twice is one length")
    }

    @Test func aHeadThatNeverEndsIsRefusedAtTheLimitNotBuffered() {
        var parser = HTTP1RequestParser()
        var buffer = ByteBuffer(string: "GET / HTTP/1.1\r\n")
        let line = ByteBuffer(string: "X-Filler: " + String(repeating: "a", count: 1000) + "\r\n")
        var refused: HTTP1ParseError?
        for _ in 0..<200 where refused == nil {
            var more = line
            buffer.writeBuffer(&more)
            do {
                #expect(try parser.next(&buffer) == nil)
            } catch {
                refused = error
            }
        }
        #expect(refused?.status == .requestHeaderFieldsTooLarge)
        #expect(buffer.readableBytes <= HTTP1RequestParser.maxHeadBytes + 1100)
    }

    @Test func trailersAreHeldToTheHeadLimitAndReadOnceWhateverTheReads() throws {
        let start = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n"
        let trailer = "T: " + String(repeating: "t", count: 1000) + "\r\n"
        // Within the limit, a byte at a time: each line is searched once, not again at
        // every byte (which made 60 KiB of trailers cost billions of comparisons).
        let fits = start + String(repeating: trailer, count: 60) + "\r\nGET /next HTTP/1.1\r\n\r\n"
        let requests = try parse(fits, step: 1)
        #expect(requests.map(\.head.uri) == ["/x", "/next"])
        #expect(requests.first?.body == Array("a".utf8))
        // Past it, 431 as for a head, whole or in pieces.
        let over = start + String(repeating: trailer, count: 70) + "\r\n"
        for step in [0, 1000] {
            do {
                _ = try parse(over, step: step)
                Issue.record("trailers over the limit were read (step \(step))")
            } catch {
                #expect(error.status == .requestHeaderFieldsTooLarge, "step \(step): \(error)")
            }
        }
    }

    @Test func aFloodOfEmptyLinesHoldsNothing() throws {
        var parser = HTTP1RequestParser()
        var buffer = ByteBuffer()
        for _ in 0..<1000 {
            buffer.writeString(String(repeating: "\r\n", count: 100))
            #expect(try parser.next(&buffer) == nil)
            #expect(buffer.readableBytes == 0)
        }
        #expect(parser.isBetweenRequests)
    }

    /// What parsing `bytes` fed in pieces at `cuts` gives: each request's method, target,
    /// headers and body, then the error if one stopped it.
    private func outcome(_ bytes: [UInt8], cuts: [Int]) -> String {
        var parser = HTTP1RequestParser()
        var buffer = ByteBuffer()
        var out = ""
        var body: [UInt8] = []
        var offset = 0
        for end in cuts + [bytes.count] where end >= offset {
            buffer.writeBytes(bytes[offset..<end])
            offset = end
            do {
                while let part = try parser.next(&buffer) {
                    switch part {
                    case .head(let head):
                        out += "\(head.method) \(head.uri) \(head.version) \(head.keepAlive) \(head.body)"
                        for (name, value) in head.headers { out += " [\(name)=\(value)]" }
                    case .body(let slice): body += slice.readableBytesView
                    case .end:
                        out += " body \(body) end\n"
                        body = []
                    }
                }
            } catch {
                return out + " body \(body) error \(error.status.code) \(error.reason)"
            }
        }
        return out + " body \(body)"
    }

    @Test func mutatedRequestsReadTheSameWhereverTheReadsSplitThem() {
        // However the bytes arrive, the parser reads the same requests and stops at the
        // same error: its state between reads is complete. A seeded generator, so that a
        // failure replays.
        var random = SplitMix(seed: 20_261_203)
        let seeds = [
            "PUT /v1/metadata/a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET /healthz HTTP/1.1\r\n\r\n",
            "POST /v1/join HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n0\r\nT: 1\r\n\r\n",
            "GET /v1/members?tag=a:b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        ]
        let noise: [UInt8] = [13, 10, 32, 9, 58, 59, 48, 49, 102, 0, 200, 65]
        for round in 0..<3000 {
            var bytes = Array(seeds[round % seeds.count].utf8)
            for _ in 0..<Int(random.next() % 4) {
                let at = Int(random.next() % UInt64(bytes.count))
                switch random.next() % 3 {
                case 0: bytes[at] = noise[Int(random.next() % UInt64(noise.count))]
                case 1: bytes.insert(noise[Int(random.next() % UInt64(noise.count))], at: at)
                default: bytes.remove(at: at)
                }
            }
            let whole = outcome(bytes, cuts: [])
            var cuts = (0..<Int(random.next() % 6)).map { _ in Int(random.next() % UInt64(bytes.count + 1)) }
            cuts.sort()
            #expect(outcome(bytes, cuts: cuts) == whole, "round \(round): \(bytes) cut at \(cuts)")
            #expect(outcome(bytes, cuts: Array(0..<bytes.count)) == whole, "round \(round), a byte at a time")
        }
    }
}

/// SplitMix64: a small seeded generator for the randomized tests.
struct SplitMix {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension HTTP1RequestParser.Part: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.end, .end): true
        case (.body(let a), .body(let b)): a == b
        case (.head(let a), .head(let b)): a.uri == b.uri && a.method == b.method
        default: false
        }
    }
}
