import Dispatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// SIGTERM and SIGINT as a request to leave gracefully: what `docker stop`, the
/// kubelet, systemd and Ctrl-C send. Each one is an element of `requests`; a second one
/// during a leave joins the leave under way, which ends by itself within the engine's
/// leave timeout (5 s).
///
/// Dispatch's signal sources deliver the signal on a queue instead of in a signal
/// handler, so nothing is restricted in what follows. (swift-service-lifecycle did
/// this before, at the price of 1.5 MB of code in the binary for two signals.)
package final class ShutdownSignals {
    private let sources: [any DispatchSourceSignal]
    /// One element for each SIGTERM or SIGINT; the newest is kept while nobody reads.
    package let requests: AsyncStream<Void>

    /// Starts watching. Do it before starting what the signals stop: libdispatch takes
    /// a signal over asynchronously, and one that came earlier would end the process
    /// (or, sent to a container's PID 1, be dropped). Keep the value for as long as the
    /// signals should be caught.
    package init() {
        let (requests, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.requests = requests
        let queue = DispatchQueue(label: "hearsay.signals")
        sources = [SIGTERM, SIGINT].map { number in
            #if canImport(Darwin)
                // Darwin's sources read signals through kqueue, beside the signal's
                // action: ignoring it keeps the default action from ending the process.
                // Linux's libdispatch takes the signal over itself.
                signal(number, SIG_IGN)
            #endif
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { continuation.yield() }
            source.resume()
            return source
        }
    }

    deinit {
        for source in sources { source.cancel() }
    }
}
