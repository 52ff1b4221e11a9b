import HearsayCore
import HearsayWire

/// A request body the API refused, with the reason for the 400 answer.
package struct BadRequest: Error, CustomStringConvertible, Sendable {
    package let description: String
    init(_ description: String) { self.description = description }
}

/// Reads a request body as a JSON object whose keys must all be in `known`.
func jsonObject(_ body: [UInt8], known: Set<String>) throws(BadRequest) -> [String: JSONValue] {
    guard !body.isEmpty else { throw BadRequest("the request needs a JSON object body") }
    let document: JSONValue
    do {
        document = try JSONValue.parse(bytes: body)
    } catch {
        throw BadRequest("malformed JSON: \(error)")
    }
    guard case .object(let fields) = document else { throw BadRequest("the body must be a JSON object") }
    // Sorted only to name the first unknown field the same way every time.
    if fields.keys.contains(where: { !known.contains($0) }),
        let unknown = fields.keys.sorted().first(where: { !known.contains($0) })
    {
        throw BadRequest("unknown field '\(unknown)'; allowed: \(known.sorted().joined(separator: ", "))")
    }
    return fields
}

func stringList(_ value: JSONValue?, _ field: String) throws(BadRequest) -> [String] {
    guard let value else { return [] }
    guard case .array(let items) = value else { throw BadRequest("\(field) must be an array of strings") }
    var out: [String] = []
    for item in items {
        guard case .string(let text) = item else { throw BadRequest("\(field) must be an array of strings") }
        out.append(text)
    }
    return out
}

/// `PUT /v1/metadata/{address}`: `{"value": any JSON, "status": "active"|"deprecated",
/// "roles": [..], "replication_nodes": [..]}`; every field is optional.
struct MetadataWrite {
    var value: JSONValue?
    var status: MetadataStatus = .active
    var roles: [String] = []
    var replicationNodes: [String] = []

    /// Made once: a set literal here was built again for every PUT.
    private static let fields: Set<String> = ["value", "status", "roles", "replication_nodes"]

    init(body: [UInt8]) throws(BadRequest) {
        let fields = try jsonObject(body, known: Self.fields)
        value = fields["value"]
        if let status = fields["status"] {
            guard case .string(let text) = status, let parsed = MetadataStatus(rawValue: text),
                parsed == .active || parsed == .deprecated
            else {
                throw BadRequest("status must be \"active\" or \"deprecated\" (use DELETE to delete)")
            }
            self.status = parsed
        }
        roles = try stringList(fields["roles"], "roles")
        replicationNodes = try stringList(fields["replication_nodes"], "replication_nodes")
    }
}

/// `POST /v1/join`: `{"addresses": ["host:port", ...]}`.
struct JoinRequest {
    var addresses: [HostPort]

    init(body: [UInt8]) throws(BadRequest) {
        let fields = try jsonObject(body, known: ["addresses"])
        let texts = try stringList(fields["addresses"], "addresses")
        guard !texts.isEmpty else { throw BadRequest("addresses must name at least one host:port") }
        addresses = []
        for text in texts {
            do {
                addresses.append(try HostPort(parsing: text, defaultPort: 7946, setting: "addresses"))
            } catch {
                throw BadRequest("\(error)")
            }
        }
    }
}

/// `POST /v1/keys/{install,use,remove}`: `{"key": "base64"}`.
struct KeyRequest {
    var key: [UInt8]

    init(body: [UInt8]) throws(BadRequest) {
        let fields = try jsonObject(body, known: ["key"])
        guard case .string(let text)? = fields["key"] else { throw BadRequest("key must be a base64 string") }
        do {
            key = try Base64.decode(text)
        } catch {
            throw BadRequest("key: \(error)")
        }
        guard key.count == Keyring.keyByteCount else {
            throw BadRequest("key must be \(Keyring.keyByteCount) bytes, not \(key.count)")
        }
    }
}
