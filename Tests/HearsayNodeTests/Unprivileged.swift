import Foundation

/// Agents in the process-level tests run as an unprivileged user, the way people run
/// them: a test run as root would otherwise hide everything that only root may do (a
/// socket option that needs CAP_NET_ADMIN reset every HTTP connection that way).
///
/// As root, each agent is started through util-linux's `setpriv` as `nobody` (65534)
/// with no supplementary groups; as any other user it simply runs as that user.
enum Unprivileged {
    static let uid: uid_t = 65534
    static let gid: gid_t = 65534
    static let setpriv = "/usr/bin/setpriv"

    /// Whether agents are dropped to `nobody` (the tests run as root).
    static var dropsPrivileges: Bool { getuid() == 0 }

    /// The executable and arguments that run `arguments` with `executable` unprivileged.
    static func command(_ executable: String, _ arguments: [String]) -> (executable: String, arguments: [String]) {
        guard dropsPrivileges else { return (executable, arguments) }
        precondition(FileManager.default.isExecutableFile(atPath: setpriv), "util-linux's setpriv is needed")
        return (
            setpriv,
            ["--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", "--", executable] + arguments
        )
    }

    /// A copy of the `hearsay` binary that `nobody` can run, wherever the checkout is
    /// (a clone under root's home is not searchable by other users).
    static let hearsayBinary: String = {
        guard dropsPrivileges else { return HearsayBinary.path }
        let directory = NSTemporaryDirectory() + "hearsay-bin-\(getpid())"
        let copy = directory + "/hearsay"
        let manager = FileManager.default
        try? manager.removeItem(atPath: directory)
        do {
            try manager.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            try manager.copyItem(atPath: HearsayBinary.path, toPath: copy)
            try manager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: copy)
        } catch {
            preconditionFailure("cannot copy \(HearsayBinary.path) for the unprivileged agents: \(error)")
        }
        atexit { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "hearsay-bin-\(getpid())") }
        return copy
    }()

    /// Creates `path` when missing and gives it, and everything under it, to the agents' user.
    static func handOver(_ path: String) throws {
        let manager = FileManager.default
        if !manager.fileExists(atPath: path) {
            try manager.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        guard dropsPrivileges else { return }
        var paths = [path]
        if let below = manager.enumerator(atPath: path) {
            for case let relative as String in below { paths.append(path + "/" + relative) }
        }
        for item in paths where chown(item, uid, gid) != 0 {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EPERM)
        }
    }
}
