import Foundation
import HearsayCore
import Synchronization
import Testing

/// A program run to its end: its exit status and everything it printed, standard
/// output and error together.
struct ProgramRun {
    var status: Int32
    var output: String
    /// Whether it was killed for running past its timeout.
    var timedOut: Bool

    /// Runs `executable` with `arguments` (and `input` on its standard input) and waits
    /// for it. One that runs past `timeout` is killed with SIGKILL, so that a program
    /// that hangs fails its test instead of holding the whole suite.
    init(
        _ executable: String, _ arguments: [String], input: Data? = nil, directory: String? = nil,
        timeout: Duration = .seconds(120)
    ) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let stdin = Pipe()
        if input != nil { process.standardInput = stdin }
        try process.run()
        let killed = Mutex(false)
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout.seconds) {
            // `isRunning` holds until Foundation has reaped the program, so the pid is
            // still its own.
            guard process.isRunning else { return }
            killed.withLock { $0 = true }
            // Foundation starts it as the leader of a process group of its own: the
            // SIGKILL reaches the children it started too. A child left running holds
            // the output open, and Foundation's wait for the exit, until it ends.
            kill(-process.processIdentifier, SIGKILL)
        }
        if let input {
            stdin.fileHandleForWriting.write(input)
            try stdin.fileHandleForWriting.close()
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let timedOut = killed.withLock { $0 }
        self.status = process.terminationStatus
        self.output = timedOut ? text + "\n[killed after \(timeout)]" : text
        self.timedOut = timedOut
    }
}

@Suite struct ProgramRunTests {
    @Test func aProgramPastItsTimeoutIsKilledAndSaysSo() throws {
        let run = try ProgramRun("/bin/sh", ["-c", "echo started; exec sleep 60"], timeout: .seconds(1))
        #expect(run.timedOut)
        #expect(run.output.hasPrefix("started\n"), "\(run.output)")
        #expect(run.output.contains("killed after"))
        // A child left holding the output open dies with it at the timeout, rather than
        // holding the run until the child ends.
        let start = ContinuousClock.now
        let orphaned = try ProgramRun(
            "/bin/sh", ["-c", "sleep 30 & echo started; exec sleep 60"], timeout: .seconds(1))
        #expect(orphaned.timedOut && orphaned.output.hasPrefix("started\n"), "\(orphaned.output)")
        #expect(ContinuousClock.now - start < .seconds(25))
        let quick = try ProgramRun("/bin/sh", ["-c", "echo done; exit 3"])
        #expect(!quick.timedOut && quick.status == 3 && quick.output == "done\n")
    }
}
