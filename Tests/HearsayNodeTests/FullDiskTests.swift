import Foundation
import HearsayCore
import HearsayNode
import Testing

/// A real agent whose data directory is on a 256 KiB tmpfs that fills up: writes are
/// refused and change nothing, reads go on, and the log stays whole (issue 12, items 2
/// and 3).
@Suite(.serialized) struct FullDiskTests {
    /// Runs a system command as this (root) process; returns its exit status.
    @discardableResult
    private func system(_ path: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Writes until the file system refuses; returns the filler's path.
    private func fill(_ directory: String) -> String {
        let path = directory + "/filler"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer { close(fd) }
        for size in [4096, 512, 64, 8, 1] {
            let chunk = [UInt8](repeating: 0, count: size)
            while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, size) }) == size {}
        }
        return path
    }

    /// Whether this process may mount a tmpfs (root outside a restricted container).
    static let canMount: Bool = {
        guard getuid() == 0 else { return false }
        let probe = NSTemporaryDirectory() + "hearsay-mount-probe-\(getpid())"
        try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard mount("tmpfs", probe, "tmpfs", 0, "size=4k") == 0 else { return false }
        umount(probe)
        return true
    }()

    @Test(.enabled(if: canMount, "needs root, allowed to mount a small tmpfs"))
    func aFullDiskRefusesWritesChangesNothingAndTheLogSurvivesACrash() async throws {
        let cluster = AgentCluster(size: 1)
        defer { cluster.stop() }
        let disk = cluster.directory.file("disk")
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        try #require(system("/bin/mount", ["-t", "tmpfs", "-o", "size=256k,mode=0777", "tmpfs", disk]) == 0)
        defer { system("/bin/umount", ["-l", disk]) }
        let ports = FreePorts.take(2)
        let agent = AgentProcess(
            name: "full-1", gossipPort: ports[0], httpPort: ports[1], directory: cluster.directory.path,
            dataDir: disk + "/node")
        defer { agent.signal(SIGKILL) }
        try agent.start(key: cluster.key)
        #expect(await eventually { agent.isHealthy }, "\(agent.logText)")
        #expect(try agent.put("before/full", .string("kept")).status == 200)

        let filler = fill(disk)
        let big = JSONValue.string(String(repeating: "x", count: 2000))
        var refused: [String] = []
        var accepted: [String] = []
        for i in 0..<10 {
            let address = "full/\(i)"
            let answer = try agent.put(address, big)
            #expect(answer.status == 503 || answer.status == 200, "\(answer.text)")
            if answer.status == 503 {
                refused.append(address)
                // Refused means nothing changed: not readable, so not gossiped either.
                #expect(agent.entry(address) == nil, "a refused write is visible")
            } else {
                // The room left in the log's last page of the tmpfs can take one.
                accepted.append(address)
            }
        }
        #expect(refused.count >= 8, "the disk never filled")
        // Reads go on while the disk is full.
        #expect(agent.values("before/full") == [.string("kept")])

        // Space comes back: writes work again without a restart.
        try FileManager.default.removeItem(atPath: filler)
        #expect(try agent.put("after/full", .string("also kept")).status == 200)

        // A crash, then a restart on the same log: it starts (no damage in the middle
        // from a half-written record), with every acknowledged write and no refused one.
        agent.signal(SIGKILL)
        _ = await agent.waitForExit(timeout: .seconds(20))
        try agent.start(key: cluster.key)
        #expect(await eventually { agent.isHealthy }, "\(agent.logText)")
        #expect(agent.values("before/full") == [.string("kept")])
        #expect(agent.values("after/full") == [.string("also kept")])
        for address in refused { #expect(agent.entry(address) == nil) }
        for address in accepted { #expect(agent.values(address) == [big]) }
    }
}
