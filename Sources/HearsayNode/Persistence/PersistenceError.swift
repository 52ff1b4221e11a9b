/// Why the data directory could not be used. The node refuses to start on any of these
/// rather than run with a partial or empty store.
package struct PersistenceError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file or directory concerned.
    package let path: String
    /// What is wrong, and what to do about it where that is not obvious.
    package let reason: String

    /// Creates an error about `path`.
    package init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    package var description: String { "\(path): \(reason)" }

    init(_ error: FileError) {
        self.init(path: error.path, reason: error.reason)
    }
}
