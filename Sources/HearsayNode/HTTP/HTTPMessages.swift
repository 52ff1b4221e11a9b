import HearsayCore
import NIOCore
import NIOHTTP1

/// A complete HTTP request as the router sees it.
package struct HTTPRequest: Sendable {
    package var method: HTTPMethod
    /// The path, percent-encoded as received, without the query.
    package var path: String
    /// Query parameters, percent-decoded; the last one of a name given more than once.
    package var query: [String: String]
    /// Every query parameter in order, for the few that may be repeated (`queryValues`).
    var queryPairs: [(name: String, value: String)] = []
    /// The first query parameter that is not valid percent-encoding, as received; the
    /// router refuses such a request rather than read the parameter as empty.
    package var malformedQuery: String?
    package var headers: HTTPHeaders
    package var body: [UInt8]

    /// Splits `uri` into path and query.
    package init(method: HTTPMethod, uri: String, headers: HTTPHeaders, body: [UInt8]) {
        self.method = method
        self.headers = headers
        self.body = body
        // Split on the bytes: `String.split` on a `Character` walks grapheme clusters, and
        // cost each request more than its routing.
        let utf8 = uri.utf8
        let mark = utf8.firstIndex(of: UInt8(ascii: "?"))
        self.path = mark.map { String(Substring(utf8[..<$0])) } ?? uri
        var query: [String: String] = [:]
        var malformed: String?
        if let mark {
            for pair in utf8[utf8.index(after: mark)...].split(separator: UInt8(ascii: "&")) {
                let equals = pair.firstIndex(of: UInt8(ascii: "="))
                let rawKey = String(Substring(equals.map { pair[..<$0] } ?? pair))
                let rawValue = equals.map { String(Substring(pair[pair.index(after: $0)...])) } ?? ""
                guard let key = PercentEncoding.decode(rawKey, plusIsSpace: true),
                    let value = PercentEncoding.decode(rawValue, plusIsSpace: true)
                else {
                    if malformed == nil { malformed = String(Substring(pair)) }
                    continue
                }
                query[key] = value
                queryPairs.append((key, value))
            }
        }
        self.query = query
        self.malformedQuery = malformed
    }

    /// Every value of the query parameter `name`, in order.
    func queryValues(_ name: String) -> [String] {
        queryPairs.compactMap { $0.name == name ? $0.value : nil }
    }
}

/// A response: status, content type and body.
package struct HTTPResponse: Sendable {
    package var status: HTTPResponseStatus
    package var contentType: String
    package var body: [UInt8]
    package var headers: [(String, String)] = []

    package init(status: HTTPResponseStatus, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    /// A JSON document, pretty-printed with a final newline so `curl` output reads well.
    package static func json(_ value: JSONValue, status: HTTPResponseStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "application/json", body: value.prettyBytes(suffix: "\n"))
    }

    /// A version, as `json(version.json)` spells it; `value` is its value when the caller
    /// holds it parsed (`ContextMetadata.prettyBytes(value:suffix:)`).
    static func version(_ version: ContextMetadata, value: JSONValue? = nil) -> HTTPResponse {
        HTTPResponse(
            status: .ok, contentType: "application/json", body: version.prettyBytes(value: value, suffix: "\n"))
    }

    /// `{"error": message}` with `status`.
    package static func error(_ status: HTTPResponseStatus, _ message: String) -> HTTPResponse {
        json(.object(["error": .string(message)]), status: status)
    }
}

/// What a route answers: at once, or after asynchronous work (a join, a leave).
package enum HTTPReply: Sendable {
    case now(HTTPResponse)
    case later(@Sendable () async -> HTTPResponse)
    /// Completed on the server's event loop (a write waiting for its batch to be durable),
    /// with no task to start.
    case promised(EventLoopFuture<HTTPResponse>)
    /// Completed on the server's event loop when something happens (a blocking query);
    /// `cancel` is called if the client goes away first.
    case parked(EventLoopFuture<HTTPResponse>, cancel: @Sendable () -> Void)
    /// A stream of events (`GET /v1/events`), written until the client goes away.
    case stream(EventStreamReply)
}

/// Percent-decoding of URL paths and queries.
package enum PercentEncoding {
    /// Decodes `%XX` escapes (and `+` as a space in queries); nil for a malformed escape
    /// or a result that is not UTF-8.
    package static func decode(_ text: String, plusIsSpace: Bool = false) -> String? {
        // Most paths and queries hold no escape: the text is its own decoding.
        if !text.utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }) {
            return text
        }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hex), let low = iterator.next().flatMap(hex) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            case UInt8(ascii: "+") where plusIsSpace: bytes.append(UInt8(ascii: " "))
            default: bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Encodes every byte outside the unreserved set, for building request paths.
    package static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return out
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
