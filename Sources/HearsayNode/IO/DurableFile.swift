#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The file operations persistence needs beyond `FileIO`: descriptors kept open for
/// appending, `fdatasync`, and atomic replacement that survives a crash at any point.
enum DurableFile {
    /// Opens `path` with `flags`, creating it with mode 0600 when `O_CREAT` is given.
    static func open(_ path: String, _ flags: Int32) throws(FileError) -> Int32 {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode_t(0o600))
        guard fd >= 0 else { throw .current(path) }
        return fd
    }

    /// Writes all of `bytes` at the descriptor's position.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(FileError) {
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .current(path) }
            written += n
        }
    }

    /// Forces the file's data to the disk.
    static func sync(_ fd: Int32, path: String) throws(FileError) {
        guard fdatasync(fd) == 0 else { throw .current(path) }
    }

    /// Forces a directory's entries (a created or renamed file) to the disk.
    static func syncDirectory(_ path: String) throws(FileError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .current(path) }
    }

    /// Replaces `path` with `bytes` so that after a crash it holds either the old or the
    /// new contents, never a mix: write a temporary file, sync it, rename it over. The
    /// rename is durable once `directory` is synced: here, unless `syncingDirectory` is
    /// false because the caller syncs it after more changes to it (one sync for all).
    static func replace(
        _ path: String, with bytes: [UInt8], directory: String, syncingDirectory: Bool = true
    ) throws(FileError) {
        let temporary = path + ".tmp"
        let fd = try open(temporary, O_WRONLY | O_CREAT | O_TRUNC)
        do {
            try writeAll(fd, bytes, path: temporary)
            try sync(fd, path: temporary)
        } catch {
            close(fd)
            // A part-written copy would keep the space a full disk needs to recover.
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw .current(path) }
        if syncingDirectory { try syncDirectory(directory) }
    }

    /// Whether something exists at `path`.
    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Whether `path` is a file of 0 bytes.
    static func isEmpty(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_size == 0
    }

    /// Creates the directory `path` and its parents (mode 0700) when missing.
    static func makeDirectories(_ path: String) throws(FileError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            if mkdir(prefix, mode_t(0o700)) != 0 && errno != EEXIST { throw .current(prefix) }
            prefix += "/"
        }
    }
}
