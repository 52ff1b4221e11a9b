import Foundation
import HearsayCore
import Testing

@testable import HearsayNode

/// Only the last records of the log can be torn, and they were never acknowledged; a log
/// that lost whole records is reported as data loss (issue 12, item 12).
@Suite(.serialized) struct LogMarkTests {
    /// A log of `count` synced versions, marked; returns its path and the record ends.
    private func markedLog(in dir: TemporaryDirectory, _ count: Int) throws -> (path: String, ends: [Int]) {
        let data = try DataDirectory(path: dir.path)
        let (log, _) = try data.openLog()
        var ends: [Int] = []
        for version in try PersistenceTests.versions(count) {
            try log.writeDurably([version])
            ends.append(log.byteSize)
        }
        try log.updateMark()
        return (log.path, ends)
    }

    @Test func aLogCutAtARecordBoundaryIsReportedAsLoss() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (path, ends) = try markedLog(in: dir, 20)
        #expect(truncate(path, off_t(ends[9])) == 0)
        let (_, recovery) = try MetadataLog.open(path: path, directory: dir.path)
        #expect(recovery.versions.count == 10)
        #expect(recovery.lostBytes == ends[19] - ends[9])
        #expect(recovery.truncatedBytes == 0)
    }

    @Test func aLogCutInsideARecordLongBeforeItsEndIsReportedAsLoss() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (path, ends) = try markedLog(in: dir, 20)
        #expect(truncate(path, off_t(ends[9] + 5)) == 0)
        let (_, recovery) = try MetadataLog.open(path: path, directory: dir.path)
        #expect(recovery.versions.count == 10 && recovery.truncatedBytes == 5)
        #expect(recovery.lostBytes == ends[19] - ends[9])
    }

    @Test func aTornRecordPastTheMarkIsNoLossAndAnEmptyLogWithAMarkIs() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (path, ends) = try markedLog(in: dir, 5)
        // A record being appended when the process died, after the mark.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data([0, 0, 0, 40, 1, 2, 3, 4, 9, 9]))
        try handle.close()
        let (_, torn) = try MetadataLog.open(path: path, directory: dir.path)
        #expect(torn.versions.count == 5 && torn.truncatedBytes == 10 && torn.lostBytes == 0)
        // Emptied from outside: every acknowledged record is gone, and that is loss.
        #expect(truncate(path, 0) == 0)
        let (_, emptied) = try MetadataLog.open(path: path, directory: dir.path)
        #expect(emptied.wasEmpty && emptied.lostBytes == ends[4] - MetadataLog.header.count)
    }

    @Test func anAgentWhoseLogLostRecordsSaysSo() async throws {
        let cluster = AgentCluster(size: 1)
        defer { cluster.stop() }
        let agent = cluster.agents[0]
        try agent.start(key: cluster.key)
        #expect(await eventually { agent.isHealthy }, "\(agent.logText)")
        for i in 0..<50 {
            #expect(try agent.put("loss/\(i)", .number(Double(i))).status == 200)
        }
        // The mark follows the log about once a second.
        let path = agent.dataDir + "/metadata.log"
        let size = { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 }
        let marked = await eventually {
            let text = (try? String(contentsOfFile: path + ".mark", encoding: .utf8)) ?? ""
            return Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) == size()
        }
        #expect(marked)
        agent.signal(SIGKILL)
        _ = await agent.waitForExit(timeout: .seconds(10))
        #expect(truncate(path, off_t(size() / 2)) == 0)
        try agent.start(key: cluster.key)
        #expect(await eventually { agent.logText.contains("\"log_data_loss\"") }, "\(agent.logText)")
        #expect(await eventually { agent.isHealthy })
    }
}
