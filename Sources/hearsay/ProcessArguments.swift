#if canImport(Glibc)
    import Glibc
#endif

/// The command line, even where Swift's `CommandLine.arguments` comes back empty.
///
/// On Linux the Swift runtime finds `argv` by walking back from `environ` to the initial
/// stack. A preloaded library that changes the environment in its constructor moves
/// `environ` to the heap (libfaketime does), and the runtime then sees no arguments at
/// all: the agent would print its usage and exit. The kernel keeps the original command
/// line in /proc/self/cmdline, so that is the fallback.
enum ProcessArguments {
    /// The arguments after the program's name.
    static var afterProgramName: [String] {
        let swift = CommandLine.arguments
        if !swift.isEmpty { return Array(swift.dropFirst()) }
        return Array(fromProcFS().dropFirst())
    }

    /// /proc/self/cmdline split at its NUL bytes; empty when it cannot be read.
    static func fromProcFS() -> [String] {
        let fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        if bytes.last == 0 { bytes.removeLast() }
        guard !bytes.isEmpty else { return [] }
        return bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }
}
