import Foundation
import Synchronization

/// Partitions on loopback with iptables DROP rules (the kernel here has no netem).
enum Firewall {
    static let binary = ["/usr/sbin/iptables", "/sbin/iptables"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Whether rules can be added: iptables is installed and we are root.
    static var available: Bool {
        guard let binary, getuid() == 0 else { return false }
        return run(binary, ["-w", "-L", "INPUT", "-n"]) == 0
    }

    /// Drops every UDP datagram and TCP segment arriving at `ports` on loopback until
    /// the returned closure is called. It removes the rules once however often it is
    /// called, so a test defers it right away (a failing test must not leave DROP rules
    /// on the host) and may also call it where the partition ends.
    static func blockInbound(ports: [Int]) -> @Sendable () -> Void {
        guard let binary else { return {} }
        let rules = ports.flatMap { port in
            ["udp", "tcp"].map { ["INPUT", "-i", "lo", "-p", $0, "--dport", "\(port)", "-j", "DROP"] }
        }
        for rule in rules { _ = run(binary, ["-w", "-I"] + rule) }
        let healed = Mutex(false)
        return {
            let first = healed.withLock { healed in
                defer { healed = true }
                return !healed
            }
            guard first else { return }
            for rule in rules { _ = run(binary, ["-w", "-D"] + rule) }
        }
    }

    @discardableResult
    private static func run(_ path: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return -1
        }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
