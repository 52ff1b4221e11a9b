import NIOHTTP1

/// A request's head as `HTTP1RequestParser` read it.
struct HTTP1RequestHead {
    /// How the request's body is delimited.
    enum Body: Equatable {
        case none
        case length(Int)
        case chunked
    }

    var method: HTTPMethod
    var uri: String
    var version: HTTPVersion
    /// The header fields, but for those the parser reads itself (`Content-Length`,
    /// `Transfer-Encoding`, `Connection`, `Expect`): their meaning is in `body`,
    /// `keepAlive` and `expectsContinue`, and no route reads them.
    var headers: HTTPHeaders
    var body: Body
    /// Whether the connection may carry another request after this one's answer.
    var keepAlive: Bool
    /// `Expect: 100-continue` on an HTTP/1.1 request with a body: the client waits for
    /// a 100 (or the final answer) before it sends the body.
    var expectsContinue: Bool
}

/// Why a request could not be read: the answer's status and what it says.
struct HTTP1ParseError: Error, Equatable {
    var status: HTTPResponseStatus
    var reason: String

    static func bad(_ reason: String) -> HTTP1ParseError { HTTP1ParseError(status: .badRequest, reason: reason) }
}
