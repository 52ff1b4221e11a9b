import Foundation
import HearsayCore
import Testing

@testable import HearsayNode

@Suite struct PersistenceTests {
    static let writer = NodeID(unchecked: "n1")

    /// Versions written through a store, as the engine writes them.
    static func versions(_ count: Int, prefix: String = "k") throws -> [ContextMetadata] {
        var store = MetadataStore()
        return try (0..<count).map { index in
            try store.write(
                address: MetadataAddress("\(prefix)/\(index)"), value: .object(["n": .number(Double(index))]),
                status: .active, roles: [], replicationNodes: [], by: writer,
                at: Instant(nanoseconds: Int64(index + 1) * 1_000_000))
        }
    }

    @Test func syncedVersionsComeBackAfterReopening() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let written = try Self.versions(20)
        do {
            let data = try DataDirectory(path: dir.path)
            let (log, recovery) = try data.openLog()
            #expect(recovery.versions.isEmpty)
            for version in written { log.append(version) }
            try log.sync()
        }
        let data = try DataDirectory(path: dir.path)
        let (_, recovery) = try data.openLog()
        #expect(recovery.versions == written)
        #expect(recovery.truncatedBytes == 0)
    }

    @Test func aTornLastRecordIsCutOffAndEverythingBeforeItKept() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let written = try Self.versions(5)
        let path: String
        do {
            let data = try DataDirectory(path: dir.path)
            let (log, _) = try data.openLog()
            for version in written { log.append(version) }
            try log.sync()
            path = log.path
        }
        // A crash in the middle of writing a sixth record: half of it reached the disk.
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        var torn = full
        torn.append(contentsOf: [0, 0, 0, 40, 1, 2, 3, 4, 9, 9, 9])
        try torn.write(to: URL(fileURLWithPath: path))
        let data = try DataDirectory(path: dir.path)
        let (log, recovery) = try data.openLog()
        #expect(recovery.versions == written)
        #expect(recovery.truncatedBytes == 11)
        #expect(log.byteSize == full.count)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == full)
    }

    @Test func aDamagedRecordInTheMiddleRefusesToOpen() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path: String
        do {
            let data = try DataDirectory(path: dir.path)
            let (log, _) = try data.openLog()
            for version in try Self.versions(5) { log.append(version) }
            try log.sync()
            path = log.path
        }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[40] ^= 0xFF  // inside the first record's payload
        try bytes.write(to: URL(fileURLWithPath: path))
        let data = try DataDirectory(path: dir.path)
        #expect {
            _ = try data.openLog()
        } throws: { error in
            "\(error)".contains("corrupt at byte 8") && "\(error)".contains("checksum")
        }
    }

    @Test func aFileThatIsNotALogRefusesToOpen() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try "hello".write(toFile: dir.file("metadata.log"), atomically: true, encoding: .utf8)
        let data = try DataDirectory(path: dir.path)
        #expect { _ = try data.openLog() } throws: { "\($0)".contains("not a Hearsay metadata log") }
    }

    @Test func anEmptyLogFileStartsAsANewLog() throws {
        // What a crash while the file system created the log can leave: no header, and
        // nothing acknowledged.
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        #expect(FileManager.default.createFile(atPath: dir.file("metadata.log"), contents: Data()))
        let data = try DataDirectory(path: dir.path)
        let (log, recovery) = try data.openLog()
        #expect(recovery.versions.isEmpty && recovery.truncatedBytes == 0)
        #expect(log.byteSize == 8)
        let (_, again) = try data.openLog()
        #expect(again.versions.isEmpty)
    }

    @Test func compactionKeepsOnlyTheLiveVersions() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let data = try DataDirectory(path: dir.path)
        let (log, _) = try data.openLog()
        var store = MetadataStore()
        let address = try MetadataAddress("hot")
        // 3000 overwrites of one entry (6 MB): the log holds them all, the store one.
        for index in 0..<3000 {
            let version = try store.write(
                address: address, value: .string(String(repeating: "x", count: 2000) + "\(index)"), status: .active,
                roles: [], replicationNodes: [], by: Self.writer, at: Instant(nanoseconds: Int64(index) * 1000))
            log.append(version)
        }
        try log.sync()
        try log.updateMark()
        #expect(log.needsCompaction(liveVersions: store.count, liveBytes: store.byteSize))
        // The mark moves down with the log: the smaller log is no loss.
        try log.compact(limits: store.limits)
        #expect(log.recordCount == 1)
        #expect(!log.needsCompaction(liveVersions: store.count, liveBytes: store.byteSize))
        // Appends after compaction land in the new file.
        let next = try store.write(
            address: address, value: .string("after"), status: .active, roles: [], replicationNodes: [],
            by: Self.writer, at: Instant(nanoseconds: 9_000_000_000))
        log.append(next)
        try log.sync()
        let (_, recovery) = try MetadataLog.open(path: log.path, directory: dir.path)
        #expect(recovery.lostBytes == 0)
        var replayed = MetadataStore()
        for version in recovery.versions { _ = replayed.apply(version) }
        #expect(replayed.entry(address)?.versions == [next])
    }

    @Test func theIdentitySurvivesAndTheDirectoryIsLockedWhileInUse() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        do {
            let data = try DataDirectory(path: dir.path + "/nested/dir")
            #expect(try data.readIdentity() == nil)
            try data.writeIdentity(NodeIdentity(name: NodeID(unchecked: "web-1"), incarnation: 42))
            #expect(throws: PersistenceError.self) { _ = try DataDirectory(path: dir.path + "/nested/dir") }
        }
        let data = try DataDirectory(path: dir.path + "/nested/dir")
        #expect(try data.readIdentity() == NodeIdentity(name: NodeID(unchecked: "web-1"), incarnation: 42))
        try "{\"name\": 3}".write(toFile: dir.path + "/nested/dir/identity.json", atomically: true, encoding: .utf8)
        #expect { _ = try data.readIdentity() } throws: { "\($0)".contains("unreadable node identity") }
    }
}
