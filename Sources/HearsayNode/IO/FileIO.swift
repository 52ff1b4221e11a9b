#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a file could not be read or written.
package struct FileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file.
    package let path: String
    /// What went wrong, from the C library's `strerror`.
    package let reason: String

    package var description: String { "\(path): \(reason)" }

    static func current(_ path: String) -> FileError {
        let code = errno
        var reason = String(cString: strerror(code))
        if code == EACCES || code == EROFS {
            // The usual cause in a container: a volume, bind mount or secret that another
            // user owns (the image runs as uid 10001), or a read-only mount.
            reason += " (this process runs as uid \(getuid()), gid \(getgid()): check the owner and mode)"
        }
        return FileError(path: path, reason: reason)
    }
}

/// Whole-file reads and writes without Foundation, which the node does not link.
package enum FileIO {
    /// The bytes of the file at `path`, or of standard input for `-`, refusing more than `limit`.
    package static func read(_ path: String, limit: Int = 64 * 1024 * 1024) throws(FileError) -> [UInt8] {
        // fdopen on descriptor 0 rather than the C `stdin` global, which Swift 6 treats as
        // shared mutable state.
        guard let file = path == "-" ? fdopen(0, "rb") : fopen(path, "rb") else { throw .current(path) }
        defer { if path != "-" { fclose(file) } }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n > 0 { bytes += chunk[0..<n] }
            if bytes.count > limit { throw FileError(path: path, reason: "larger than \(limit) bytes") }
            if n < chunk.count {
                if ferror(file) != 0 { throw .current(path) }
                break
            }
        }
        return bytes
    }

    /// Writes `bytes` to `path`, replacing it, with the given permission bits for a new file.
    package static func write(_ bytes: [UInt8], to path: String, mode: UInt32 = 0o644) throws(FileError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode_t(mode))
        guard fd >= 0 else { throw .current(path) }
        defer { close(fd) }
        try DurableFile.writeAll(fd, bytes, path: path)
    }
}
