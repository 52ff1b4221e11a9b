import HearsayCore
import Synchronization

/// A Prometheus counter: a total that only grows. Whole increments go to one atomic;
/// fractional ones (CPU seconds) to another holding a `Double`'s bits, so that the
/// common case is one relaxed add.
final class Counter: Sendable {
    private let whole = Atomic<Int64>(0)
    private let fraction = Atomic<UInt64>(0)

    init() {}

    func increment(by amount: Int64 = 1) {
        whole.wrappingAdd(amount, ordering: .relaxed)
    }

    func increment(by amount: Double) {
        var old = fraction.load(ordering: .relaxed)
        while true {
            let new = (Double(bitPattern: old) + amount).bitPattern
            let (exchanged, original) = fraction.compareExchange(
                expected: old, desired: new, ordering: .relaxed)
            if exchanged { return }
            old = original
        }
    }

    /// The value as the exposition writes it: a whole number unless a fraction was added.
    func write(to text: inout [UInt8]) {
        let extra = Double(bitPattern: fraction.load(ordering: .relaxed))
        let count = whole.load(ordering: .relaxed)
        if extra == 0 {
            text.append(contentsOf: String(count).utf8)
        } else {
            text.append(contentsOf: MetricRegistry.text(Double(count) + extra).utf8)
        }
    }
}

/// A Prometheus gauge: a value set when it changes or when `/metrics` is read.
final class Gauge: Sendable {
    private let bits = Atomic<UInt64>(0)

    init() {}

    func set(to value: Double) {
        bits.store(value.bitPattern, ordering: .relaxed)
    }

    var value: Double { Double(bitPattern: bits.load(ordering: .relaxed)) }
}

/// A Prometheus histogram of durations, in seconds, with fixed upper bounds. Recorded
/// on the event loop, so the lock is uncontended; it keeps a bucket's count, the sum and
/// the count consistent with each other for a reader.
final class DurationHistogram: Sendable {
    private struct State {
        /// Observations at or below each bound (not yet cumulative), then the rest.
        var counts: [Int]
        var sum: Duration = .zero
        var count = 0
    }

    /// The upper bounds, ascending.
    let bounds: [Duration]
    /// Each bound's `le` label value, in seconds, then `+Inf`: written once, not at
    /// every scrape.
    let boundTexts: [String]
    private let state: Mutex<State>

    init(bounds: [Duration]) {
        self.bounds = bounds.sorted()
        boundTexts = self.bounds.map { MetricRegistry.text($0.seconds) } + ["+Inf"]
        state = Mutex(State(counts: Array(repeating: 0, count: bounds.count + 1)))
    }

    func record(_ duration: Duration) {
        let index = bounds.firstIndex { duration <= $0 } ?? bounds.count
        state.withLock {
            $0.counts[index] += 1
            $0.sum += duration
            $0.count += 1
        }
    }

    /// Cumulative counts per bound (the last is `+Inf`), the sum in seconds, and the count.
    var snapshot: (cumulative: [Int], sum: Double, count: Int) {
        state.withLock { state in
            var running = 0
            let cumulative = state.counts.map {
                running += $0
                return running
            }
            return (cumulative, state.sum.seconds, state.count)
        }
    }
}
