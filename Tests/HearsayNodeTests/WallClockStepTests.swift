import Foundation
import HearsayCore
import HearsayNode
import Testing

/// An agent whose wall clock is set an hour back, then forward, while its only peer is
/// killed (issue 12, item 1): failure detection runs on the monotonic clock, so the peer
/// is declared failed either way, and writes are stamped with the wall clock as set.
///
/// libfaketime (Debian's `faketime`) steps the agent's `CLOCK_REALTIME` at run time,
/// read afresh from a file on every call, and leaves `CLOCK_MONOTONIC` alone.
@Suite(.serialized) struct WallClockStepTests {
    static let library = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"

    @Test(.enabled(if: FileManager.default.fileExists(atPath: library), "needs Debian's faketime (make deps)"))
    func aKilledPeerIsDeclaredFailedWhileTheWallClockSteps() async throws {
        let cluster = AgentCluster(size: 2)
        defer { cluster.stop() }
        let (stepped, peer) = (cluster.agents[0], cluster.agents[1])
        let offsetFile = cluster.directory.path + "/faketime"
        func setOffset(_ text: String) throws {
            try text.write(toFile: offsetFile, atomically: true, encoding: .utf8)
            chmod(offsetFile, 0o644)
        }
        try setOffset("+0")
        chmod(cluster.directory.path, 0o755)
        // Preloaded into the agent alone, through env after setpriv: preloaded into setpriv
        // (root), libfaketime would make shared memory the agent's user cannot open.
        try stepped.start(
            key: cluster.key,
            launcher: [
                "/usr/bin/env", "LD_PRELOAD=\(Self.library)", "FAKETIME_TIMESTAMP_FILE=\(offsetFile)",
                "FAKETIME_NO_CACHE=1", "FAKETIME_DONT_FAKE_MONOTONIC=1", "FAKETIME_DISABLE_SHM=1",
            ])
        try peer.start(key: cluster.key, join: [stepped.gossipPort])
        #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) }, "\(cluster.logs)")

        for (offset, seconds) in [("-1h", -3600.0), ("+1h", 3600.0)] {
            // The step falls while the killed peer is suspect: a suspicion timer armed
            // before it must still end in `failed` (on the wall clock, a step back made the
            // deadline an hour away, and the timer gave up without re-arming).
            peer.signal(SIGKILL)
            _ = await peer.waitForExit(timeout: .seconds(10))
            let suspected = await eventually(timeout: .seconds(20), every: .milliseconds(20)) {
                let state = stepped.members()[peer.name]
                return state == "suspect" || state == "failed"
            }
            #expect(suspected, "\(stepped.logText.suffix(2000))")
            try setOffset(offset)
            let failed = await eventually(timeout: .seconds(30)) { stepped.members()[peer.name] == "failed" }
            #expect(
                failed, "with the wall clock set \(offset), the killed peer is \(stepped.members()[peer.name] ?? "?")")

            // Stamps people read follow the wall clock as set.
            let answer = try stepped.put("clock/\(offset)", .string(offset))
            #expect(answer.status == 200, "\(stepped.logText.suffix(2000))")
            if case .object(let version)? = answer.json, case .string(let stamp)? = version["last_updated"],
                let written = RFC3339.parse(stamp)
            {
                let skew = written.timeIntervalSinceNow - seconds
                #expect(abs(skew) < 60, "stamped \(stamp) with the clock set \(offset)")
            } else {
                Issue.record("no last_updated in \(answer.body)")
            }
            // That a failed member is kept for the tombstone grace on protocol time, whatever
            // the wall clock does, `ClockStepTests` shows in virtual time: the agent reaps
            // once a minute, too seldom for a test here to see it.

            // Frame times are wall-clock times that the replay window bounds (five minutes
            // old, one ahead): with its clock an hour off, the agent and its peers refuse
            // each other's frames. Set right, it talks to the restarted peer again.
            try setOffset("+0")
            try peer.start(key: cluster.key, join: [stepped.gossipPort])
            #expect(await eventually { cluster.allSee(cluster.everyoneAlive()) }, "\(cluster.logs)")
        }
    }
}

/// Parses the API's RFC 3339 stamps (with fractional seconds, UTC).
enum RFC3339 {
    static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }
}
