import NIOHTTP1

/// Values captured from a path: `{name}` takes one segment, `{name...}` the rest.
public typealias RouteParameters = [String: String]

/// A small router: routes are a method and a path pattern, matched in the order they
/// were added. A path that matches with another method answers 405 with `Allow`; no
/// match answers 404. Handlers run isolated to `Context` (the node).
public struct Router<Context: Actor>: Sendable {
    /// A route's handler.
    public typealias Handler = @Sendable (HTTPRequest, RouteParameters, isolated Context) -> HTTPReply

    private enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
        case rest(String)
    }

    private struct Route: Sendable {
        var method: HTTPMethod
        var segments: [Segment]
        var handler: Handler
    }

    private var routes: [Route] = []

    /// An empty router.
    public init() {}

    /// Adds a route for `method` and `pattern`, such as `/v1/metadata/{address...}`.
    public mutating func add(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping Handler) {
        let segments = pattern.split(separator: "/").map { part -> Segment in
            if part.hasPrefix("{") && part.hasSuffix("...}") { return .rest(String(part.dropFirst().dropLast(4))) }
            if part.hasPrefix("{") && part.hasSuffix("}") { return .parameter(String(part.dropFirst().dropLast())) }
            return .literal(String(part))
        }
        routes.append(Route(method: method, segments: segments, handler: handler))
    }

    /// Finds the route for `request` and runs it.
    public func route(_ request: HTTPRequest, context: isolated Context) -> HTTPReply {
        if let malformed = request.malformedQuery {
            return .now(.error(.badRequest, "malformed percent-encoding in the query: \(malformed)"))
        }
        // Empty segments are kept: `/v1/metadata/a//b` names the address `a//b`, as
        // `a%2F%2Fb` does; a route's other segments never match an empty one.
        // Split and compared as bytes: `String.split` on a `Character` walks grapheme
        // clusters, and cost a request more than the rest of its routing.
        let parts = request.path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            .dropFirst().map(Substring.init)
        var allowed: [HTTPMethod] = []
        for route in routes {
            guard let parameters = match(route.segments, parts, in: request.path) else { continue }
            if route.method == request.method || (request.method == .HEAD && route.method == .GET) {
                guard let parameters else {
                    return .now(.error(.badRequest, "malformed percent-encoding in the path"))
                }
                return route.handler(request, parameters, context)
            }
            allowed.append(route.method)
        }
        if allowed.isEmpty { return .now(.error(.notFound, "no such endpoint: \(request.path)")) }
        var response = HTTPResponse.error(
            .methodNotAllowed, "\(request.method) is not allowed on \(request.path)")
        response.headers.append(("Allow", allowed.map { "\($0)" }.joined(separator: ", ")))
        return .now(response)
    }

    /// nil when the path does not match; `.some(nil)` when it matches but a captured
    /// segment does not percent-decode.
    private func match(_ segments: [Segment], _ parts: [Substring], in path: String) -> RouteParameters?? {
        var parameters: RouteParameters = [:]
        var decodeFailed = false
        for (index, segment) in segments.enumerated() {
            switch segment {
            case .literal(let text):
                guard index < parts.count, parts[index].utf8.elementsEqual(text.utf8) else { return nil }
            case .parameter(let name):
                guard index < parts.count, !parts[index].isEmpty else { return nil }
                if let value = PercentEncoding.decode(String(parts[index])) {
                    parameters[name] = value
                } else {
                    decodeFailed = true
                }
            case .rest(let name):
                guard index < parts.count, parts[index...].contains(where: { !$0.isEmpty }) else { return nil }
                // The parts are slices of `path`: the rest, slashes and all, runs from here.
                if let value = PercentEncoding.decode(String(path[parts[index].startIndex...])) {
                    parameters[name] = value
                } else {
                    decodeFailed = true
                }
                return .some(decodeFailed ? nil : parameters)
            }
        }
        guard parts.count == segments.count else { return nil }
        return .some(decodeFailed ? nil : parameters)
    }
}
