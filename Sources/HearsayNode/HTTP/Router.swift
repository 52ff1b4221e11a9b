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
        /// A literal segment's bytes: compared as bytes, not as `String`s.
        case literal([UInt8])
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
            return .literal(Array(part.utf8))
        }
        routes.append(Route(method: method, segments: segments, handler: handler))
    }

    /// Finds the route for `request` and runs it.
    ///
    /// Every route's shape is tried against the path's segments as bytes, and only the
    /// route that is run captures and percent-decodes its parameters: a PUT of an entry
    /// went through 13 routes, and decoding its address for the GET route before its
    /// own, with the generic comparison of `String` views, cost 26k instructions, a
    /// tenth of the agent's work on a durable PUT (docs/benchmarks.md).
    public func route(_ request: HTTPRequest, context: isolated Context) -> HTTPReply {
        if let malformed = request.malformedQuery {
            return .now(.error(.badRequest, "malformed percent-encoding in the query: \(malformed)"))
        }
        // Empty segments are kept: `/v1/metadata/a//b` names the address `a//b`, as
        // `a%2F%2Fb` does; a route's other segments never match an empty one.
        // Split as bytes: `String.split` on a `Character` walks grapheme clusters.
        let path = request.path
        let parts = Array(path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst())
        var allowed: [HTTPMethod] = []
        for index in routes.indices where Self.matches(routes[index].segments, parts) {
            let method = routes[index].method
            if method == request.method || (request.method == .HEAD && method == .GET) {
                guard let parameters = Self.capture(routes[index].segments, parts, in: path) else {
                    return .now(.error(.badRequest, "malformed percent-encoding in the path"))
                }
                return routes[index].handler(request, parameters, context)
            }
            allowed.append(method)
        }
        if allowed.isEmpty { return .now(.error(.notFound, "no such endpoint: \(request.path)")) }
        var response = HTTPResponse.error(
            .methodNotAllowed, "\(request.method) is not allowed on \(request.path)")
        response.headers.append(("Allow", allowed.map { "\($0)" }.joined(separator: ", ")))
        return .now(response)
    }

    /// Whether the path's `parts` have the shape of `segments`.
    private static func matches(_ segments: [Segment], _ parts: [Substring.UTF8View]) -> Bool {
        for (index, segment) in segments.enumerated() {
            guard index < parts.count else { return false }
            switch segment {
            case .literal(let bytes):
                guard equal(parts[index], bytes) else { return false }
            case .parameter:
                guard !parts[index].isEmpty else { return false }
            case .rest:
                return parts[index...].contains { !$0.isEmpty }
            }
        }
        return parts.count == segments.count
    }

    /// The parameters of a path that `matches` the route; nil when a captured segment
    /// does not percent-decode.
    private static func capture(_ segments: [Segment], _ parts: [Substring.UTF8View], in path: String)
        -> RouteParameters?
    {
        var parameters: RouteParameters = [:]
        for (index, segment) in segments.enumerated() {
            switch segment {
            case .literal:
                continue
            case .parameter(let name):
                guard let value = PercentEncoding.decode(String(Substring(parts[index]))) else { return nil }
                parameters[name] = value
            case .rest(let name):
                // The parts are slices of `path`: the rest, slashes and all, runs from here.
                guard let value = PercentEncoding.decode(String(path[parts[index].startIndex...])) else { return nil }
                parameters[name] = value
                return parameters
            }
        }
        return parameters
    }

    private static func equal(_ part: Substring.UTF8View, _ bytes: [UInt8]) -> Bool {
        guard part.count == bytes.count else { return false }
        return part.withContiguousStorageIfAvailable { $0.elementsEqual(bytes) } ?? part.elementsEqual(bytes)
    }
}
