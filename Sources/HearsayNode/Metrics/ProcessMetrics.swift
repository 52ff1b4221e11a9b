import HearsayCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The standard `process_*` metrics, read from `/proc/self` when `/metrics` is scraped:
/// CPU time, resident and virtual memory, open and maximum file descriptors, start time.
final class ProcessMetrics: Sendable {
    private let cpu: Counter
    private let resident: Gauge
    private let virtual: Gauge
    private let openFDs: Gauge
    private let maxFDs: Gauge
    private let startTime: Gauge
    /// CPU seconds already added to the counter, which can only grow by increments.
    private let countedCPU = Mutex<Double>(0)

    init(registry: MetricRegistry) {
        cpu = registry.counter(
            name: "process_cpu_seconds_total", help: "User and system CPU time spent, in seconds.")
        resident = registry.gauge(name: "process_resident_memory_bytes", help: "Resident memory size in bytes.")
        virtual = registry.gauge(name: "process_virtual_memory_bytes", help: "Virtual memory size in bytes.")
        openFDs = registry.gauge(name: "process_open_fds", help: "Open file descriptors.")
        maxFDs = registry.gauge(name: "process_max_fds", help: "Limit on open file descriptors.")
        startTime = registry.gauge(
            name: "process_start_time_seconds", help: "Start time of the process since the Unix epoch, in seconds.")
    }

    /// The boot time of the machine (`btime` in `/proc/stat`), in seconds since the epoch.
    private static let bootTime: Double? = {
        guard let stat = try? FileIO.read("/proc/stat", limit: 1 << 20) else { return nil }
        for line in String(decoding: stat, as: UTF8.self).split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6))
        }
        return nil
    }()

    /// Reads `/proc/self` and updates every metric; a missing file leaves its metrics as they were.
    func refresh() {
        if let stat = try? FileIO.read("/proc/self/stat", limit: 4096) {
            // Fields after the parenthesized command name, which may itself hold spaces.
            let text = String(decoding: stat, as: UTF8.self)
            if let close = text.lastIndex(of: ")") {
                let fields = text[text.index(after: close)...].split(separator: " ")
                let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
                // fields[0] is the state (field 3): utime is field 14, stime 15, starttime 22,
                // vsize 23, rss 24.
                if fields.count > 21, let user = Double(fields[11]), let system = Double(fields[12]),
                    let started = Double(fields[19]), let vsize = Double(fields[20]), let pages = Double(fields[21])
                {
                    if let boot = Self.bootTime { startTime.set(to: boot + started / ticks) }
                    let seconds = (user + system) / ticks
                    let delta = countedCPU.withLock { counted -> Double in
                        let delta = max(0, seconds - counted)
                        counted = max(counted, seconds)
                        return delta
                    }
                    if delta > 0 { cpu.increment(by: delta) }
                    virtual.set(to: vsize)
                    resident.set(to: pages * Double(sysconf(Int32(_SC_PAGESIZE))))
                }
            }
        }
        if let directory = opendir("/proc/self/fd") {
            var count = 0
            while readdir(directory) != nil { count += 1 }
            closedir(directory)
            openFDs.set(to: Double(max(0, count - 3)))  // ".", ".." and the directory's own descriptor
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            maxFDs.set(to: Double(limit.rlim_cur))
        }
    }
}
