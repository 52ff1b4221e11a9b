import Dispatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// SIGTERM and SIGINT as a request to leave gracefully: what `docker stop`, the
/// kubelet, systemd and Ctrl-C send. Every one calls the handler: a second signal during
/// a leave joins the leave under way, which ends by itself within the engine's leave
/// timeout (5 s).
///
/// Dispatch's signal sources deliver the signal on a queue instead of in a signal
/// handler, so the handler may do anything. (swift-service-lifecycle did this before,
/// at the price of 1.5 MB of code in the binary for one signal.)
public final class ShutdownSignals {
    private let sources: [any DispatchSourceSignal]

    /// Starts watching; keep the returned value for as long as the signals should be
    /// caught. `handler` runs on a Dispatch queue, once per signal.
    public init(_ handler: @escaping @Sendable () -> Void) {
        let queue = DispatchQueue(label: "hearsay.signals")
        sources = [SIGTERM, SIGINT].map { number in
            #if canImport(Darwin)
                // Darwin's sources read signals through kqueue, beside the signal's
                // action: ignoring it keeps the default action from ending the process.
                // Linux's libdispatch takes the signal over itself.
                signal(number, SIG_IGN)
            #endif
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler(handler: handler)
            source.resume()
            return source
        }
    }

    deinit {
        for source in sources { source.cancel() }
    }
}
