import NIOHTTP1

/// Values captured from a path: `{name}` takes one segment, `{name...}` the rest.
package typealias RouteParameters = [String: String]

/// A small router: routes are a method and a path pattern, matched in the order they
/// were added. A path that matches with another method answers 405 with `Allow`; no
/// match answers 404. Handlers run isolated to `Context` (the node).
package struct Router<Context: Actor>: Sendable {
    /// A route's handler.
    package typealias Handler = @Sendable (HTTPRequest, RouteParameters, isolated Context) -> HTTPReply

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
    package init() {}

    /// Adds a route for `method` and `pattern`, such as `/v1/metadata/{address...}`.
    package mutating func add(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping Handler) {
        let segments = pattern.split(separator: "/").map { part -> Segment in
            if part.hasPrefix("{") && part.hasSuffix("...}") { return .rest(String(part.dropFirst().dropLast(4))) }
            if part.hasPrefix("{") && part.hasSuffix("}") { return .parameter(String(part.dropFirst().dropLast())) }
            return .literal(Array(part.utf8))
        }
        routes.append(Route(method: method, segments: segments, handler: handler))
    }

    /// Finds the route for `request` and runs it.
    package func route(_ request: HTTPRequest, context: isolated Context) -> HTTPReply {
        if let malformed = request.malformedQuery {
            return .now(.error(.badRequest, "malformed percent-encoding in the query: \(malformed)"))
        }
        let method = request.method
        var path = request.path
        let outcome = path.withUTF8 { resolve(method, path: $0) }
        switch outcome {
        case .run(let index, let parameters):
            return routes[index].handler(request, parameters, context)
        case .malformedPath:
            return .now(.error(.badRequest, "malformed percent-encoding in the path"))
        case .notFound:
            return .now(.error(.notFound, "no such endpoint: \(request.path)"))
        case .notAllowed(let allowed):
            var response = HTTPResponse.error(
                .methodNotAllowed, "\(request.method) is not allowed on \(request.path)")
            response.headers.append(("Allow", allowed.map { "\($0)" }.joined(separator: ", ")))
            return .now(response)
        }
    }

    private enum Outcome {
        case run(Int, RouteParameters)
        case malformedPath
        case notFound
        case notAllowed([HTTPMethod])
    }

    /// The route for `method` on `path`, matched on the path's bytes: each route's shape
    /// is tried, and only the route that runs captures and percent-decodes its
    /// parameters. A PUT of an entry goes through 13 routes; decoding its address for the
    /// GET route before its own, and comparing segments as `String` views, cost it 26k
    /// instructions, a tenth of the agent's work on a durable PUT (docs/benchmarks.md).
    private func resolve(_ method: HTTPMethod, path: UnsafeBufferPointer<UInt8>) -> Outcome {
        // Empty segments are kept: `/v1/metadata/a//b` names the address `a//b`, as
        // `a%2F%2Fb` does; a route's other segments never match an empty one. What comes
        // before the first slash is not a segment.
        var parts: [Range<Int>] = []
        var start = 0
        for index in path.indices where path[index] == UInt8(ascii: "/") {
            parts.append(start..<index)
            start = index + 1
        }
        parts.append(start..<path.count)
        parts.removeFirst()
        var allowed: [HTTPMethod] = []
        for index in routes.indices where Self.matches(routes[index].segments, parts, path) {
            let routeMethod = routes[index].method
            if routeMethod == method || (method == .HEAD && routeMethod == .GET) {
                guard let parameters = Self.capture(routes[index].segments, parts, path) else { return .malformedPath }
                return .run(index, parameters)
            }
            allowed.append(routeMethod)
        }
        return allowed.isEmpty ? .notFound : .notAllowed(allowed)
    }

    /// Whether the path's `parts` have the shape of `segments`.
    private static func matches(_ segments: [Segment], _ parts: [Range<Int>], _ path: UnsafeBufferPointer<UInt8>)
        -> Bool
    {
        for index in segments.indices {
            guard index < parts.count else { return false }
            let part = parts[index]
            switch segments[index] {
            case .literal(let bytes):
                guard part.count == bytes.count,
                    bytes.withUnsafeBufferPointer({ UnsafeBufferPointer(rebasing: path[part]).elementsEqual($0) })
                else { return false }
            case .parameter:
                guard !part.isEmpty else { return false }
            case .rest:
                return parts[index...].contains { !$0.isEmpty }
            }
        }
        return parts.count == segments.count
    }

    /// The parameters of a path that `matches` the route; nil when a captured segment
    /// does not percent-decode.
    private static func capture(_ segments: [Segment], _ parts: [Range<Int>], _ path: UnsafeBufferPointer<UInt8>)
        -> RouteParameters?
    {
        var parameters: RouteParameters = [:]
        for index in segments.indices {
            switch segments[index] {
            case .literal:
                continue
            case .parameter(let name):
                let text = String(decoding: UnsafeBufferPointer(rebasing: path[parts[index]]), as: UTF8.self)
                guard let value = PercentEncoding.decode(text) else { return nil }
                parameters[name] = value
            case .rest(let name):
                // The rest, slashes and all, runs from here to the path's end.
                let start = parts[index].lowerBound
                let text = String(decoding: UnsafeBufferPointer(rebasing: path[start...]), as: UTF8.self)
                guard let value = PercentEncoding.decode(text) else { return nil }
                parameters[name] = value
                return parameters
            }
        }
        return parameters
    }
}
