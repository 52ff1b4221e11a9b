import HearsayCore

/// `tags.json` in the data directory: the tags this node announces, so that tags set
/// through the API outlive a restart (`--tag` still wins for the keys it names).
extension DataDirectory {
    /// Where the tags are kept.
    var tagsFile: TagsFile { TagsFile(path: path + "/tags.json", directory: path) }

    /// The tags file: a JSON object of strings.
    struct TagsFile: Sendable {
        let path: String
        let directory: String

        /// The stored tags, or nil when there is no file yet.
        func read() throws(PersistenceError) -> MemberTags? {
            func bad(_ why: String) -> PersistenceError {
                PersistenceError(path: path, reason: "unreadable tags (\(why)); fix or remove the file")
            }
            guard let document = try DataDirectory.readDocument(path, bad: bad) else { return nil }
            guard case .object(let fields) = document else { throw bad("expected an object of strings") }
            var pairs: [String: String] = [:]
            for (key, value) in fields {
                guard case .string(let text) = value else { throw bad("the value of \(key) is not a string") }
                pairs[key] = text
            }
            do {
                return try MemberTags(pairs)
            } catch {
                throw bad("\(error)")
            }
        }

        /// Replaces the file with `tags`, atomically and durably.
        func write(_ tags: MemberTags) throws(PersistenceError) {
            do {
                try DurableFile.replace(path, with: Array((tags.json.canonicalText + "\n").utf8), directory: directory)
            } catch {
                throw PersistenceError(error)
            }
        }
    }
}
