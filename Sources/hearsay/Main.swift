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
            await Hearsay.main(ProcessArguments.afterProgramName)
            exit(0)
        }
        while true { pause() }
    }
}
