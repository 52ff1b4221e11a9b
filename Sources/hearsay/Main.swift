import ArgumentParser
import HearsayNode

#if canImport(Glibc)
    import Glibc
#endif

/// The entry point: runs the command on Swift's global executor and parks the main thread.
///
/// An `async` main would hand the main thread to `dispatch_main()`, which ends it with
/// `pthread_exit`. That unwinds the main thread's stack through every frame's unwind
/// tables and loads libgcc_s to do it, pages an agent then keeps resident for its whole
/// life (docs/benchmarks.md, "Idle footprint"). Nothing here uses the main queue or the
/// main actor, so nothing needs that thread to drain them.
@main
enum Main {
    static func main() {
        Task.detached {
            let arguments = ProcessArguments.afterProgramName
            // An agent's command line of settings alone skips ArgumentParser's start-up
            // cost (`SettingFlags`); anything else, `--help` included, goes through it.
            if arguments.first == "agent", let given = SettingFlags.parse(Array(arguments.dropFirst())) {
                do {
                    try await AgentCommand.run(config: given.config, flags: given.flags)
                } catch let error as ExitCode {
                    exit(error.rawValue)
                } catch {
                    printError("hearsay agent: \(error)")
                    exit(1)
                }
            } else {
                await Hearsay.main(arguments)
            }
            exit(0)
        }
        while true { pause() }
    }
}
