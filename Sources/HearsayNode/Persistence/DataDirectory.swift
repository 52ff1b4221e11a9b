import HearsayCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Who this node is, kept across restarts: its name, and the highest incarnation it has
/// used, so that its next life starts above every rumor about its previous one.
package struct NodeIdentity: Equatable, Sendable {
    /// The node's name.
    package var name: NodeID
    /// The highest incarnation this node has announced.
    package var incarnation: UInt64

    /// Creates an identity.
    package init(name: NodeID, incarnation: UInt64) {
        self.name = name
        self.incarnation = incarnation
    }
}

/// The node's `--data-dir`: `identity.json`, `metadata.log`, and a lock that keeps a
/// second agent from using the same directory.
package final class DataDirectory {
    /// The directory.
    package let path: String
    private let lockFD: Int32

    /// Opens (creating when missing) and locks the directory.
    package init(path: String) throws(PersistenceError) {
        self.path = path
        do {
            try DurableFile.makeDirectories(path)
            lockFD = try DurableFile.open(path + "/lock", O_RDWR | O_CREAT)
        } catch {
            throw PersistenceError(error)
        }
        guard flock(lockFD, LOCK_EX | LOCK_NB) == 0 else {
            close(lockFD)
            throw PersistenceError(path: path, reason: "in use by another running agent (locked)")
        }
    }

    deinit {
        close(lockFD)  // also releases the lock
    }

    var identityPath: String { path + "/identity.json" }
    /// The metadata log's path.
    package var logPath: String { path + "/metadata.log" }

    /// The JSON document of a small file the directory keeps (at most 64 KiB), or nil
    /// when there is none; `bad` makes the error for a file that is there but unusable.
    static func readDocument(_ path: String, bad: (String) -> PersistenceError) throws(PersistenceError) -> JSONValue? {
        guard DurableFile.exists(path) else { return nil }
        let bytes: [UInt8]
        do {
            bytes = try FileIO.read(path, limit: 64 * 1024)
        } catch {
            throw PersistenceError(error)
        }
        do {
            return try JSONValue.parse(bytes: bytes)
        } catch {
            throw bad("\(error)")
        }
    }

    /// The stored identity, or nil for a new directory.
    package func readIdentity() throws(PersistenceError) -> NodeIdentity? {
        func bad(_ why: String) -> PersistenceError {
            PersistenceError(path: identityPath, reason: "unreadable node identity (\(why)); refusing to start")
        }
        guard let document = try Self.readDocument(identityPath, bad: bad) else { return nil }
        guard case .object(let fields) = document, case .string(let name)? = fields["name"],
            case .number(let incarnation)? = fields["incarnation"], incarnation >= 0, incarnation < 9e15,
            incarnation == incarnation.rounded()
        else { throw bad("expected {\"name\": string, \"incarnation\": integer}") }
        do {
            return NodeIdentity(name: try NodeID(name), incarnation: UInt64(incarnation))
        } catch {
            throw bad("\(error)")
        }
    }

    /// Stores the identity durably (atomic replace).
    package func writeIdentity(_ identity: NodeIdentity) throws(PersistenceError) {
        try identityFile.write(identity)
    }

    /// The identity file alone, for writing from the node's disk thread.
    var identityFile: IdentityFile { IdentityFile(path: identityPath, directory: path) }

    /// Where the identity is kept.
    struct IdentityFile: Sendable {
        let path: String
        let directory: String

        /// Replaces the file with `identity`, atomically and durably.
        func write(_ identity: NodeIdentity) throws(PersistenceError) {
            let document = JSONValue.object([
                "name": .string(identity.name.rawValue), "incarnation": .number(Double(identity.incarnation)),
            ])
            do {
                try DurableFile.replace(path, with: Array((document.canonicalText + "\n").utf8), directory: directory)
            } catch {
                throw PersistenceError(error)
            }
        }
    }

    /// Opens the metadata log; see `MetadataLog.open` for `deferringDirectorySync`.
    package func openLog(deferringDirectorySync: Bool = false) throws(PersistenceError) -> (
        MetadataLog, MetadataLog.Recovery
    ) {
        try MetadataLog.open(path: logPath, directory: path, deferringDirectorySync: deferringDirectorySync)
    }
}
