import CZlib
import HearsayCore
import HearsayWire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The metadata store on disk: an append-only log of every version that entered the
/// store, each record checksummed, compacted by rewriting the live versions.
///
/// Layout: the 8-byte header `HSYLOG` 0x00 0x01, then records of a 4-byte big-endian
/// length, a 4-byte big-endian CRC-32 of the payload, and the payload (a version in the
/// wire encoding). Replaying the records through `MetadataStore.apply` rebuilds the
/// store: merges are order-independent for what they keep.
///
/// A crash can only tear the last records, which were never acknowledged (a write is
/// acknowledged after `sync`), so a bad record at the very end is cut off; a bad record
/// anywhere else is corruption, and opening fails rather than start with part of a store.
/// A log that lost whole records from its end (a cut at a record boundary reads as a
/// good log) is told apart by its mark, `metadata.log.mark`: the length the log had
/// reached when it was last marked, about once a second. A log shorter than its mark
/// lost acknowledged records, and opening says so (`Recovery.lostBytes`).
///
/// Confined to one thread at a time (not `Sendable`): the node's `LogWriter` owns it.
package final class MetadataLog {
    /// The file.
    package let path: String
    /// The log's size on disk, written records included.
    package private(set) var byteSize: Int
    /// Records in the file.
    package private(set) var recordCount: Int
    private let directory: String
    private var fd: Int32
    private var pending: [UInt8] = []
    /// Set when a write failed and its bytes may still be in the file past `byteSize`.
    private var needsCutBack = false
    /// The length the mark file holds.
    private var markedBytes: Int
    /// The mark file, open for rewriting once it exists.
    private var markFD: Int32 = -1
    /// Set after a compaction replaced the file until it is open again.
    private var needsReopen = false

    static let header: [UInt8] = Array("HSYLOG".utf8) + [0, 1]
    /// No single version comes near this; a larger length is corruption, not a record.
    static let maxRecordBytes = 64 * 1024 * 1024

    /// What opening found.
    package struct Recovery: Sendable {
        /// Every version in the log, oldest first.
        package var versions: [ContextMetadata]
        /// Bytes of a torn last record that were cut off, 0 normally.
        package var truncatedBytes: Int
        /// Whether the file was there but empty, and started anew.
        package var wasEmpty = false
        /// How much shorter than its mark the log was: acknowledged records lost from
        /// outside (a cut, a restored partial copy); 0 normally.
        package var lostBytes = 0
    }

    /// Where the mark of the log at `path` is kept.
    static func markPath(_ path: String) -> String { path + ".mark" }

    /// Opens the log at `path` in `directory`, creating it when missing or empty, and
    /// reads every record back. An empty file holds nothing that was acknowledged (every
    /// acknowledged write follows a header): a crash while some file systems created it
    /// can leave one, and so can damage from outside; it starts as a new log, and the
    /// host says so (`Recovery.wasEmpty`).
    ///
    /// With `deferringDirectorySync`, a log created here has its name durable only once
    /// the caller syncs `directory`, which it must do before it acknowledges a write (the
    /// node writes its identity next, and that sync covers both).
    package static func open(
        path: String, directory: String, deferringDirectorySync: Bool = false
    ) throws(PersistenceError) -> (MetadataLog, Recovery) {
        do {
            let wasEmpty = DurableFile.exists(path) && DurableFile.isEmpty(path)
            if !DurableFile.exists(path) || wasEmpty {
                try DurableFile.replace(
                    path, with: header, directory: directory, syncingDirectory: !deferringDirectorySync)
            }
            let (bytes, versions, goodEnd) = try readRecords(path)
            let fd = try DurableFile.open(path, O_WRONLY | O_APPEND)
            if goodEnd < bytes.count {
                guard ftruncate(fd, off_t(goodEnd)) == 0 else {
                    close(fd)
                    throw FileError.current(path)
                }
                try DurableFile.sync(fd, path: path)
            }
            let mark = readMark(path)
            let log = MetadataLog(
                path: path, directory: directory, fd: fd, size: goodEnd, records: versions.count, marked: mark ?? 0)
            return (
                log,
                Recovery(
                    versions: versions, truncatedBytes: bytes.count - goodEnd, wasEmpty: wasEmpty,
                    lostBytes: max(0, (mark ?? 0) - goodEnd))
            )
        } catch let error as FileError {
            throw PersistenceError(error)
        } catch let error as PersistenceError {
            throw error
        } catch {
            throw PersistenceError(path: path, reason: "\(error)")
        }
    }

    private init(path: String, directory: String, fd: Int32, size: Int, records: Int, marked: Int) {
        self.path = path
        self.directory = directory
        self.fd = fd
        self.byteSize = size
        self.recordCount = records
        self.markedBytes = marked
    }

    /// The length in the mark file; nil when there is none or it is unreadable (a mark
    /// only ever makes opening report more, so a damaged one is ignored).
    private static func readMark(_ path: String) -> Int? {
        guard DurableFile.exists(markPath(path)), let bytes = try? FileIO.read(markPath(path), limit: 64) else {
            return nil
        }
        let text = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first ?? ""
        return Int(text).flatMap { $0 >= header.count ? $0 : nil }
    }

    /// Records the log's durable length in its mark, when it changed since the last mark.
    package func updateMark() throws(PersistenceError) {
        guard byteSize != markedBytes else { return }
        try writeMark(byteSize)
    }

    /// The mark is created by an atomic replacement, then rewritten in place: one
    /// `fdatasync` a second instead of three (a slow disk would spend most of its time on
    /// marks). The text has a fixed width, 20 digits and a newline, inside one sector, so
    /// an interrupted rewrite leaves the old length or the new one.
    private func writeMark(_ bytes: Int) throws(PersistenceError) {
        let digits = String(bytes)
        let text = Array((String(repeating: "0", count: max(0, 20 - digits.count)) + digits + "\n").utf8)
        do throws(FileError) {
            if markFD < 0 {
                try DurableFile.replace(Self.markPath(path), with: text, directory: directory)
                markFD = try DurableFile.open(Self.markPath(path), O_WRONLY)
            } else {
                let written = text.withUnsafeBytes { pwrite(markFD, $0.baseAddress, $0.count, 0) }
                guard written == text.count else { throw FileError.current(Self.markPath(path)) }
                try DurableFile.sync(markFD, path: Self.markPath(path))
            }
        } catch {
            throw PersistenceError(error)
        }
        markedBytes = bytes
    }

    deinit {
        if markFD >= 0 { close(markFD) }
        close(fd)
    }

    /// The file's bytes, the versions of its good records, and where the last one ends.
    private static func readRecords(_ path: String) throws(PersistenceError) -> (
        bytes: [UInt8], versions: [ContextMetadata], goodEnd: Int
    ) {
        let bytes: [UInt8]
        do {
            bytes = try FileIO.read(path, limit: Int.max)
        } catch {
            throw PersistenceError(error)
        }
        let (versions, goodEnd) = try parse(bytes, path: path)
        return (bytes, versions, goodEnd)
    }

    /// Reads the records of `bytes`; returns the versions and where the last good record ends.
    static func parse(_ bytes: [UInt8], path: String) throws(PersistenceError) -> ([ContextMetadata], Int) {
        guard bytes.count >= header.count, Array(bytes[0..<header.count]) == header else {
            throw PersistenceError(
                path: path,
                reason: "not a Hearsay metadata log (bad header); refusing to start with an empty store")
        }
        var versions: [ContextMetadata] = []
        var offset = header.count
        while offset < bytes.count {
            let start = offset
            guard bytes.count - offset >= 8 else { break }  // a torn record header
            let length = Int(readUInt32(bytes, offset))
            let expected = readUInt32(bytes, offset + 4)
            guard length <= maxRecordBytes else {
                throw corrupt(path, at: start, "a record claims \(length) bytes")
            }
            let payload = (offset + 8)..<(offset + 8 + length)
            guard payload.upperBound <= bytes.count else { break }  // a torn payload
            let actual = bytes.withUnsafeBufferPointer {
                UInt32(crc32(0, $0.baseAddress! + payload.lowerBound, uInt(length)))
            }
            if actual != expected {
                // Torn only if nothing follows; otherwise acknowledged data is damaged.
                if payload.upperBound == bytes.count { break }
                throw corrupt(path, at: start, "checksum mismatch")
            }
            do {
                versions.append(try MessageCodec.decodeStoredVersion(bytes, range: payload))
            } catch {
                throw corrupt(path, at: start, "undecodable record (\(error))")
            }
            offset = payload.upperBound
        }
        return (versions, offset)
    }

    private static func corrupt(_ path: String, at offset: Int, _ what: String) -> PersistenceError {
        PersistenceError(
            path: path,
            reason:
                "corrupt at byte \(offset): \(what); refusing to start with part of the store. "
                + "Restore the file from a backup, or move it away to start this node empty "
                + "(it then catches up from its peers)")
    }

    private static func readUInt32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }

    private static func record(_ version: ContextMetadata) -> [UInt8] {
        let payload = MessageCodec.encodeStoredVersion(version)
        let sum = payload.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + payload.count)
        for value in [UInt32(payload.count), sum] {
            bytes += [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
        }
        return bytes + payload
    }

    /// Queues a version for the next `sync`.
    package func append(_ version: ContextMetadata) {
        pending += Self.record(version)
        recordCount += 1
    }

    /// Writes the queued versions and forces them to the disk. On failure they stay
    /// queued for the next sync.
    package func sync() throws(PersistenceError) {
        guard !pending.isEmpty else { return }
        try write(pending)
        pending.removeAll(keepingCapacity: true)
    }

    /// Writes the queued versions and then `versions`, in one write, and forces them to
    /// the disk; on failure `versions` are not queued (the caller refuses the writes
    /// they stand for), and the others stay queued.
    package func writeDurably(_ versions: [ContextMetadata]) throws(PersistenceError) {
        var bytes = pending
        for version in versions { bytes += Self.record(version) }
        guard !bytes.isEmpty else { return }
        try write(bytes)
        pending.removeAll(keepingCapacity: true)
        recordCount += versions.count
    }

    /// Appends `bytes` and syncs. A write that fails part way (a full disk) is cut back
    /// to the end of the last good record, and the cut is synced, before anything else
    /// is appended: a record after a torn one would make the log read as damaged in the
    /// middle, and the node would refuse to start. Until the cut succeeds, every write
    /// fails.
    private func write(_ bytes: [UInt8]) throws(PersistenceError) {
        try reopen()
        if needsCutBack {
            do {
                try cutBack()
            } catch {
                throw PersistenceError(path: path, reason: "cannot cut the log back to its last good record: \(error)")
            }
        }
        do {
            try DurableFile.writeAll(fd, bytes, path: path)
            try DurableFile.sync(fd, path: path)
        } catch {
            needsCutBack = true
            try? cutBack()
            throw PersistenceError(error)
        }
        byteSize += bytes.count
    }

    private func reopen() throws(PersistenceError) {
        guard needsReopen else { return }
        do {
            let reopened = try DurableFile.open(path, O_WRONLY | O_APPEND)
            close(fd)
            fd = reopened
            needsReopen = false
        } catch {
            throw PersistenceError(path: path, reason: "cannot reopen the compacted log: \(error)")
        }
    }

    private func cutBack() throws(FileError) {
        guard ftruncate(fd, off_t(byteSize)) == 0 else { throw .current(path) }
        try DurableFile.sync(fd, path: path)
        needsCutBack = false
    }

    /// Whether the log has grown well past what it holds: over `minimumBytes` and more
    /// than twice the size of the `liveVersions` records.
    package func needsCompaction(liveVersions: Int, liveBytes: Int, minimumBytes: Int = 4 * 1024 * 1024) -> Bool {
        Self.needsCompaction(
            logBytes: byteSize, liveVersions: liveVersions, liveBytes: liveBytes, minimumBytes: minimumBytes)
    }

    /// The rule of `needsCompaction(liveVersions:liveBytes:)` for a log of `logBytes`.
    static func needsCompaction(
        logBytes: Int, liveVersions: Int, liveBytes: Int, minimumBytes: Int = 4 * 1024 * 1024
    ) -> Bool {
        logBytes > minimumBytes && logBytes > 2 * (liveBytes + 8 * liveVersions + header.count)
    }

    /// Replaces the log with one record per version it holds that is still live, as a
    /// restart would load them into a store with `limits`: what is compacted is what is
    /// on disk, whatever the store in memory holds meanwhile. The mark is lowered first,
    /// so that a crash before the replacement leaves a log longer than its mark, never
    /// shorter. Returns the size before and after.
    @discardableResult
    package func compact(limits: MetadataLimits) throws(PersistenceError) -> (before: Int, after: Int) {
        try sync()
        let before = byteSize
        var store = MetadataStore(limits: limits)
        for version in try Self.readRecords(path).versions { _ = store.apply(version) }
        var bytes = Self.header
        var records = 0
        for entry in store.allEntries {
            for version in entry.versions {
                bytes += Self.record(version)
                records += 1
            }
        }
        if markedBytes > bytes.count { try writeMark(bytes.count) }
        do {
            try DurableFile.replace(path, with: bytes, directory: directory)
        } catch {
            throw PersistenceError(error)
        }
        byteSize = bytes.count
        recordCount = records
        // The descriptor still writes to the file that was replaced: nothing may be
        // appended until the new one is open.
        needsReopen = true
        try reopen()
        try updateMark()
        return (before, byteSize)
    }
}
