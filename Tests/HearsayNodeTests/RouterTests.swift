import HearsayCore
import NIOHTTP1
import Testing

@testable import HearsayNode

/// A context for routes that records what they saw.
actor RouteRecorder {
    var seen: [String] = []

    func run(_ router: Router<RouteRecorder>, _ method: HTTPMethod, _ uri: String) -> HTTPResponse? {
        let reply = router.route(HTTPRequest(method: method, uri: uri, headers: [:], body: []), context: self)
        guard case .now(let response) = reply else { return nil }
        return response
    }

    func record(_ text: String) { seen.append(text) }
}

@Suite struct RouterTests {
    let router: Router<RouteRecorder> = {
        var r = Router<RouteRecorder>()
        r.add(.GET, "/v1/items") { request, _, recorder in
            recorder.record("list \(request.query["prefix"] ?? "")")
            return .now(.json(.null))
        }
        r.add(.GET, "/v1/items/{id...}") { _, p, recorder in
            recorder.record("get \(p["id"]!)")
            return .now(.json(.null))
        }
        r.add(.PUT, "/v1/items/{id...}") { _, p, recorder in
            recorder.record("put \(p["id"]!)")
            return .now(.json(.null))
        }
        r.add(.POST, "/v1/keys/{op}") { _, p, recorder in
            recorder.record("key \(p["op"]!)")
            return .now(.json(.null))
        }
        return r
    }()

    @Test func routesMatchByMethodAndPathAndCaptureDecodedParameters() async {
        let recorder = RouteRecorder()
        #expect(await recorder.run(router, .GET, "/v1/items?prefix=a%2Fb")?.status == .ok)
        #expect(await recorder.run(router, .GET, "/v1/items/svc%2Fweb/x%3Fy")?.status == .ok)
        #expect(await recorder.run(router, .PUT, "/v1/items/a")?.status == .ok)
        #expect(await recorder.run(router, .POST, "/v1/keys/use")?.status == .ok)
        #expect(await recorder.seen == ["list a/b", "get svc/web/x?y", "put a", "key use"])
    }

    @Test func emptySegmentsOfAnAddressAreKept() async {
        // Issue 13, item 8: `a//b` was read as `a/b`, while `a%2F%2Fb` stayed `a//b`.
        let recorder = RouteRecorder()
        #expect(await recorder.run(router, .GET, "/v1/items/a//b")?.status == .ok)
        #expect(await recorder.run(router, .GET, "/v1/items/a%2F%2Fb")?.status == .ok)
        #expect(await recorder.run(router, .GET, "/v1/items/a/")?.status == .ok)
        #expect(await recorder.seen == ["get a//b", "get a//b", "get a/"])
        // Other segments never match an empty one.
        #expect(await recorder.run(router, .GET, "/v1//items")?.status == .notFound)
        #expect(await recorder.run(router, .GET, "/v1/items/")?.status == .notFound)
        #expect(await recorder.run(router, .POST, "/v1/keys//")?.status == .notFound)
    }

    @Test func anUnknownPathIs404AndAWrongMethod405WithAllow() async {
        let recorder = RouteRecorder()
        #expect(await recorder.run(router, .GET, "/nothing")?.status == .notFound)
        #expect(await recorder.run(router, .GET, "/v1/keys/use/more")?.status == .notFound)
        let wrong = await recorder.run(router, .DELETE, "/v1/items/a")
        #expect(wrong?.status == .methodNotAllowed)
        #expect(wrong?.headers.contains { $0.0 == "Allow" && $0.1.contains("PUT") && $0.1.contains("GET") } == true)
        #expect(await recorder.run(router, .GET, "/v1/items/%zz")?.status == .badRequest)
        // A query that does not decode is refused, not read as empty (which listed all).
        for query in ["prefix=%ff", "prefix=%zz", "prefix=%", "%zz=1"] {
            #expect(await recorder.run(router, .GET, "/v1/items?\(query)")?.status == .badRequest, "\(query)")
        }
        #expect(await recorder.seen.isEmpty)
    }

    @Test func errorsAreJSONWithAnErrorField() throws {
        let response = HTTPResponse.error(.badRequest, "bad \"thing\"")
        #expect(response.contentType == "application/json")
        #expect(try JSONValue.parse(bytes: response.body) == .object(["error": .string("bad \"thing\"")]))
    }

    @Test func percentEncodingRoundTrips() {
        for text in ["svc/web", "a b?c#d%e", "ünï", ""] {
            #expect(PercentEncoding.decode(PercentEncoding.encode(text)) == text)
        }
        #expect(PercentEncoding.decode("%4") == nil)
        #expect(PercentEncoding.decode("%ff") == nil)  // not UTF-8
        #expect(PercentEncoding.decode("a+b", plusIsSpace: true) == "a b")
    }

    @Test func requestBodiesAreCheckedFieldByField() throws {
        #expect(throws: BadRequest.self) { try MetadataWrite(body: Array("{".utf8)) }
        #expect(throws: BadRequest.self) { try MetadataWrite(body: Array("[1]".utf8)) }
        #expect(throws: BadRequest.self) { try MetadataWrite(body: Array(#"{"valu": 1}"#.utf8)) }
        #expect(throws: BadRequest.self) { try MetadataWrite(body: Array(#"{"status": "deleted"}"#.utf8)) }
        #expect(throws: BadRequest.self) { try MetadataWrite(body: Array(#"{"roles": [1]}"#.utf8)) }
        let write = try MetadataWrite(
            body: Array(#"{"value": {"a": [1, 2]}, "status": "deprecated", "roles": ["r"]}"#.utf8))
        #expect(write.value == .object(["a": .array([.number(1), .number(2)])]))
        #expect(write.status == .deprecated && write.roles == ["r"])
        #expect(throws: BadRequest.self) { try JoinRequest(body: Array(#"{"addresses": []}"#.utf8)) }
        #expect(throws: BadRequest.self) { try JoinRequest(body: Array(#"{"addresses": ["h:70000"]}"#.utf8)) }
        #expect(throws: BadRequest.self) { try KeyRequest(body: Array(#"{"key": "AAAA"}"#.utf8)) }
    }

    @Test func bearerTokensAreCompared() {
        func request(_ header: String?) -> HTTPRequest {
            var headers = HTTPHeaders()
            if let header { headers.add(name: "Authorization", value: header) }
            return HTTPRequest(method: .PUT, uri: "/", headers: headers, body: [])
        }
        #expect(Node.authorized(request("Bearer s3cret"), token: "s3cret"))
        #expect(!Node.authorized(request("Bearer s3cre"), token: "s3cret"))
        #expect(!Node.authorized(request("Bearer s3cretX"), token: "s3cret"))
        #expect(!Node.authorized(request("Basic s3cret"), token: "s3cret"))
        #expect(!Node.authorized(request(nil), token: "s3cret"))
    }
}

@Suite struct APIClientTests {
    @Test func answersWithALengthOrChunkedBodyAreRead() throws {
        let plain = try APIClient.parse(Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi".utf8))
        #expect(plain.status == 200 && plain.text == "hi")
        let chunked = try APIClient.parse(
            Array(
                "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n6;x=y\r\npedia!\r\n0\r\n\r\n"
                    .utf8))
        #expect(chunked.status == 404 && chunked.text == "Wikipedia!")
        #expect(throws: APIClient.Failure.self) {
            try APIClient.parse(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".utf8))
        }
        #expect(throws: APIClient.Failure.self) { try APIClient.parse(Array("garbage".utf8)) }
    }
}
