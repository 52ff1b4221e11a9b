/// The outcome of checking a frame against the replay window.
public enum ReplayVerdict: Equatable, Sendable {
    /// First sight of this sequence number, within the clock bounds: process the frame.
    case accepted
    /// This sequence number was already accepted from this sender.
    case duplicate
    /// The sequence number is too far below the sender's highest to tell whether it was seen.
    case belowWindow
    /// The timestamp is older than the maximum frame age.
    case stale
    /// The timestamp is further ahead of the local clock than the allowed skew.
    case future

    /// The error to drop the frame with, or nil when it was accepted.
    public var error: WireError? {
        switch self {
        case .accepted: nil
        case .duplicate: .replay("duplicate sequence")
        case .belowWindow: .replay("sequence below the replay window")
        case .stale: .replay("timestamp older than the maximum age")
        case .future: .replay("timestamp too far in the future")
        }
    }
}

/// Rejects replayed frames: per sender, a sliding bitmap over its frame sequence numbers
/// (as in IPsec, RFC 4303, and WireGuard), plus a bound on timestamp age and skew.
///
/// Senders number frames with a counter that only increases; frames may arrive out of
/// order by up to `windowSize` sequence numbers. The timestamp bound covers what the window
/// cannot: a sender the window has forgotten (evicted, or after this node restarted) can only
/// be replayed within `maxAgeMillis`, and a capture cannot be saved up for later.
///
/// Only frames whose signature verified should be checked, so that forged frames can
/// neither advance a sender's window nor evict real senders.
public struct ReplayWindow: Sendable {
    /// How many sequence numbers below the highest seen are still tracked.
    public static let windowSize: UInt64 = 1024

    /// The oldest timestamp accepted, in milliseconds before now.
    public let maxAgeMillis: Int64
    /// How far a timestamp may be ahead of the local clock, in milliseconds.
    public let maxFutureSkewMillis: Int64
    /// The most senders tracked at once; beyond it the least recently seen is forgotten.
    public let maxSenders: Int

    private var senders: [String: SenderWindow] = [:]
    // A logical clock for least-recently-seen eviction, independent of wall-clock jumps.
    private var tick: UInt64 = 0

    /// A window with the given bounds: by default frames up to 5 minutes old and 1 minute
    /// ahead are accepted, and 4096 senders are tracked.
    public init(maxAgeMillis: Int64 = 5 * 60 * 1000, maxFutureSkewMillis: Int64 = 60 * 1000, maxSenders: Int = 4096) {
        precondition(maxAgeMillis >= 0 && maxFutureSkewMillis >= 0, "replay bounds must not be negative")
        precondition(maxSenders >= 1, "the replay window must track at least one sender")
        self.maxAgeMillis = maxAgeMillis
        self.maxFutureSkewMillis = maxFutureSkewMillis
        self.maxSenders = maxSenders
    }

    /// The number of senders currently tracked.
    public var trackedSenderCount: Int { senders.count }

    /// Checks a frame from `sender` and, when it is accepted, records its sequence number so
    /// the same frame is refused next time. Rejected frames change nothing.
    public mutating func check(
        sender: String, sequence: UInt64, timestampMillis: Int64, nowMillis: Int64
    ) -> ReplayVerdict {
        // Saturating bounds: timestamps come off the wire and may be extreme.
        let (oldest, underflow) = nowMillis.subtractingReportingOverflow(maxAgeMillis)
        if !underflow, timestampMillis < oldest { return .stale }
        let (newest, overflow) = nowMillis.addingReportingOverflow(maxFutureSkewMillis)
        if !overflow, timestampMillis > newest { return .future }

        tick &+= 1
        guard senders[sender] != nil else {
            if senders.count >= maxSenders { evictLeastRecentlySeen() }
            senders[sender] = SenderWindow(first: sequence, tick: tick)
            return .accepted
        }
        // Mutated in place through the dictionary: a copy would duplicate the bitmap on
        // every frame.
        let verdict = senders[sender]!.record(sequence)
        if verdict == .accepted { senders[sender]!.lastSeen = tick }
        return verdict
    }

    /// Forgets `sender`, e.g. when it leaves the cluster for good.
    public mutating func forget(sender: String) {
        senders[sender] = nil
    }

    // A linear scan, paid only when a new sender arrives while the table is full; senders
    // are authenticated cluster members, so that is rare.
    private mutating func evictLeastRecentlySeen() {
        guard let oldest = senders.min(by: { $0.value.lastSeen < $1.value.lastSeen })?.key else { return }
        senders[oldest] = nil
    }
}

/// One sender's highest sequence number and which of the `windowSize` numbers at and below
/// it were seen: bit i of the bitmap (word i / 64, bit i % 64) stands for `highest - i`.
private struct SenderWindow: Sendable {
    private static let wordCount = Int(ReplayWindow.windowSize / 64)

    private var highest: UInt64
    private var bitmap: [UInt64]
    var lastSeen: UInt64

    init(first sequence: UInt64, tick: UInt64) {
        highest = sequence
        bitmap = [UInt64](repeating: 0, count: Self.wordCount)
        bitmap[0] = 1
        lastSeen = tick
    }

    mutating func record(_ sequence: UInt64) -> ReplayVerdict {
        if sequence > highest {
            shift(by: sequence - highest)
            highest = sequence
            bitmap[0] |= 1
            return .accepted
        }
        let distance = highest - sequence
        guard distance < ReplayWindow.windowSize else { return .belowWindow }
        let word = Int(distance / 64)
        let bit: UInt64 = 1 << (distance % 64)
        guard bitmap[word] & bit == 0 else { return .duplicate }
        bitmap[word] |= bit
        return .accepted
    }

    // Moves every mark `distance` places towards older numbers; marks pushed past the end
    // fall out of the window.
    private mutating func shift(by distance: UInt64) {
        guard distance < ReplayWindow.windowSize else {
            for index in bitmap.indices { bitmap[index] = 0 }
            return
        }
        let wordShift = Int(distance / 64)
        let bitShift = distance % 64
        for index in stride(from: Self.wordCount - 1, through: 0, by: -1) {
            let source = index - wordShift
            var word: UInt64 = source >= 0 ? bitmap[source] << bitShift : 0
            if bitShift > 0, source - 1 >= 0 {
                word |= bitmap[source - 1] >> (64 - bitShift)
            }
            bitmap[index] = word
        }
    }
}
