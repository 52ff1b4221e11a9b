import CSpawn

#if canImport(Glibc)
    import Glibc
#endif

/// What one run of an event handler's command did.
struct HandlerRun: Sendable {
    enum Outcome: Sendable, Equatable {
        /// It exited with this status.
        case exited(Int32)
        /// A signal ended it.
        case signaled(Int32)
        /// It ran past its timeout, and its process group was killed.
        case timedOut
        /// It could not be started, for this reason.
        case notStarted(String)
    }

    var outcome: Outcome
    /// The first `HandlerProcess.outputLimit` bytes of its standard output and error.
    var output: [UInt8] = []
    /// All the bytes it wrote there.
    var outputBytes = 0
    var duration: Duration = .zero
}

/// Runs a command as `/bin/sh -c COMMAND`, with bytes on its standard input, without
/// Foundation's `Process`.
///
/// The command gets a process group of its own (a timeout kills whatever it started,
/// not just the shell), default signal handling and an empty signal mask (the agent's
/// are not its business), and none of the agent's descriptors but the three it is
/// given. Blocks the calling thread, which must be a thread of its own (never an event
/// loop), until the command exits or its timeout passes.
enum HandlerProcess {
    /// Output kept for the log; the rest is read and counted, so the command never
    /// blocks on a full pipe.
    static let outputLimit = 8 * 1024

    /// What a caller that may have to stop a run early is told: `started` once the
    /// command runs, with its process (and group) id, and `exiting` when it has ended,
    /// before it is reaped. Between the two, and only then, the id is the command's own:
    /// a signal sent to its group then can never reach a process that took its id after.
    struct Tracking {
        var started: (pid_t) -> Void = { _ in }
        var exiting: () -> Void = {}
    }

    static func run(
        command: String, input: [UInt8], environment: [String], timeout: Duration, tracking: Tracking = Tracking()
    ) -> HandlerRun {
        let start = ContinuousClock.now
        var run = spawnAndWait(
            command: command, input: input, environment: environment, until: start + timeout, tracking: tracking)
        run.duration = ContinuousClock.now - start
        return run
    }

    private static func spawnAndWait(
        command: String, input: [UInt8], environment: [String], until deadline: ContinuousClock.Instant,
        tracking: Tracking
    ) -> HandlerRun {
        var toChild: [Int32] = [-1, -1]
        var fromChild: [Int32] = [-1, -1]
        guard pipe2(&toChild, O_CLOEXEC) == 0 else { return HandlerRun(outcome: .notStarted(lastError())) }
        guard pipe2(&fromChild, O_CLOEXEC) == 0 else {
            let reason = lastError()
            close(toChild[0])
            close(toChild[1])
            return HandlerRun(outcome: .notStarted(reason))
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 2)
        // Sockets and files the agent opened without close-on-exec stay its own.
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        let words: [String] = ["/bin/sh", "-c", command]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp)
        close(toChild[0])
        close(fromChild[1])
        guard spawned == 0 else {
            close(toChild[1])
            close(fromChild[0])
            return HandlerRun(outcome: .notStarted(String(cString: strerror(spawned))))
        }
        tracking.started(pid)
        return wait(
            pid: pid, input: input, stdin: toChild[1], output: fromChild[0], until: deadline, exiting: tracking.exiting)
    }

    /// Feeds `input`, reads the output and reaps `pid`, in slices of at most 50 ms, so
    /// that the command's exit is seen even while something it left behind holds its
    /// output open.
    private static func wait(
        pid: pid_t, input: [UInt8], stdin: Int32, output: Int32, until deadline: ContinuousClock.Instant,
        exiting: () -> Void
    ) -> HandlerRun {
        var run = HandlerRun(outcome: .timedOut)
        var stdin = stdin
        var output = output
        _ = fcntl(stdin, F_SETFL, fcntl(stdin, F_GETFL) | O_NONBLOCK)
        _ = fcntl(output, F_SETFL, fcntl(output, F_GETFL) | O_NONBLOCK)
        // A command that exits without reading its input makes a write here fail with
        // EPIPE: the agent ignores SIGPIPE (NIO sets it so at start), and the command
        // gets it back by default (`POSIX_SPAWN_SETSIGDEF`).
        var written = 0
        if input.isEmpty { closeFD(&stdin) }
        var chunk = [UInt8](repeating: 0, count: 65_536)
        // At most 1 MiB a call: a command that writes without end (`yes`) must still
        // meet its deadline, checked between calls.
        func drain() {
            var reads = 0
            while output >= 0 && reads < 16 {
                reads += 1
                let n = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
                if n > 0 {
                    run.outputBytes += n
                    let room = outputLimit - run.output.count
                    if room > 0 { run.output += chunk[0..<min(n, room)] }
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) { closeFD(&output) }
                    return
                }
            }
        }
        var status: Int32 = 0
        func reap() {
            exiting()
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        while true {
            if hasExited(pid) {
                reap()
                drain()
                run.outcome = outcome(status)
                break
            }
            let now = ContinuousClock.now
            guard now < deadline else {
                kill(-pid, SIGKILL)
                reap()
                drain()
                run.outcome = .timedOut
                break
            }
            var fds: [pollfd] = []
            if stdin >= 0 { fds.append(pollfd(fd: stdin, events: Int16(POLLOUT), revents: 0)) }
            if output >= 0 { fds.append(pollfd(fd: output, events: Int16(POLLIN), revents: 0)) }
            let left = deadline - now
            let slice = min(
                50, max(1, Int32(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)))
            _ = poll(&fds, nfds_t(fds.count), slice)
            if stdin >= 0 {
                let n = input[written...].withUnsafeBytes { Glibc.write(stdin, $0.baseAddress, $0.count) }
                if n > 0 { written += n }
                if written == input.count || (n < 0 && errno != EAGAIN && errno != EINTR) { closeFD(&stdin) }
            }
            drain()
        }
        closeFD(&stdin)
        closeFD(&output)
        return run
    }

    /// Whether `pid` has ended, leaving it to be reaped (`WNOWAIT`).
    private static func hasExited(_ pid: pid_t) -> Bool {
        var info = siginfo_t()
        return waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_signo == SIGCHLD
    }

    private static func outcome(_ status: Int32) -> HandlerRun.Outcome {
        // WIFEXITED and WTERMSIG are macros Swift does not import.
        let signal = status & 0x7F
        return signal == 0 ? .exited((status >> 8) & 0xFF) : .signaled(signal)
    }

    private static func closeFD(_ fd: inout Int32) {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}
