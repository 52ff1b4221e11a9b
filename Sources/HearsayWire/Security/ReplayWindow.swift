/// The outcome of checking a frame against the replay window.
package enum ReplayVerdict: Equatable, Sendable {
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
    /// The sequence number is further ahead than its sender can have counted by the
    /// frame's own time.
    case implausible

    /// The error to drop the frame with, or nil when it was accepted.
    package var error: WireError? {
        switch self {
        case .accepted: nil
        case .duplicate: .replay("duplicate sequence")
        case .belowWindow: .replay("sequence below the replay window")
        case .stale: .replay("timestamp older than the maximum age")
        case .future: .replay("timestamp too far in the future")
        case .implausible: .replay("sequence ahead of its timestamp")
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
/// A sender numbers its datagram and its stream frames in two sequences, told apart by
/// `streamBit`, and each has a window of its own: the two transports deliver in their
/// own order, and a stream frame can arrive after thousands of datagrams sealed after
/// it. A frame replayed over the other transport still meets the window of its own
/// sequence, since the bit is in the signed header.
///
/// Only frames whose signature verified should be checked, so that forged frames can
/// neither advance a sender's window nor evict real senders.
package struct ReplayWindow: Sendable {
    /// How many sequence numbers below the highest seen are still tracked.
    package static let windowSize: UInt64 = 1024
    /// Set in the sequence numbers of stream frames (the datagram sequence, which starts
    /// from the clock in milliseconds x 4096, stays far below it).
    package static let streamBit: UInt64 = 1 << 63
    /// How far past its frame's time, in milliseconds, a sequence may run. A sender
    /// numbers from its start time in milliseconds x 4096, one a frame, so its sequence
    /// stays below its clock x 4096 unless it seals more than 4,096 frames a millisecond
    /// or its clock steps back while it runs (by more than this, and then its peers also
    /// refuse its timestamps). Without the bound, one frame signed with the key and
    /// numbered near 2^64 would move its sender's window past anything the sender, even
    /// restarted, could reach, and cut it off for good.
    package static let sequenceLeadMillis: Int64 = 10 * 60 * 1000

    /// The oldest timestamp accepted, in milliseconds before now.
    package let maxAgeMillis: Int64
    /// How far a timestamp may be ahead of the local clock, in milliseconds.
    package let maxFutureSkewMillis: Int64
    /// The most sequences tracked at once (two per sender that uses both transports);
    /// beyond it the least recently seen is forgotten.
    package let maxSenders: Int

    // Each tracked sender has a slot: its window's fields in `windows`, its bitmap in
    // `bitmaps` at `slot * wordCount`. One flat buffer of bitmaps instead of an array per
    // sender means a frame costs no uniqueness checks or allocations beyond the lookup.
    private var slots: [Sender: Int] = [:]
    private var windows: [SenderWindow] = []
    private var bitmaps: [UInt64] = []
    private var names: [Sender] = []
    // The last sender's slot: frames come in bursts from one sender, and comparing two
    // names costs less than hashing one.
    private var lastSlot = -1
    // A logical clock for least-recently-seen eviction, independent of wall-clock jumps.
    private var tick: UInt64 = 0

    /// A window with the given bounds: by default frames up to 5 minutes old and 1 minute
    /// ahead are accepted, and 8192 sequences (the datagrams and streams of 4096 senders)
    /// are tracked.
    package init(maxAgeMillis: Int64 = 5 * 60 * 1000, maxFutureSkewMillis: Int64 = 60 * 1000, maxSenders: Int = 8192) {
        precondition(maxAgeMillis >= 0 && maxFutureSkewMillis >= 0, "replay bounds must not be negative")
        precondition(maxSenders >= 1, "the replay window must track at least one sender")
        self.maxAgeMillis = maxAgeMillis
        self.maxFutureSkewMillis = maxFutureSkewMillis
        self.maxSenders = maxSenders
    }

    /// The number of sequences (a sender's datagrams, or its streams) currently tracked.
    package var trackedSenderCount: Int { slots.count }

    /// Checks a frame from `sender` and, when it is accepted, records its sequence number so
    /// the same frame is refused next time. Rejected frames change nothing.
    package mutating func check(
        sender: String, sequence: UInt64, timestampMillis: Int64, nowMillis: Int64
    ) -> ReplayVerdict {
        // Saturating bounds: timestamps come off the wire and may be extreme.
        let (oldest, underflow) = nowMillis.subtractingReportingOverflow(maxAgeMillis)
        if !underflow, timestampMillis < oldest { return .stale }
        let (newest, overflow) = nowMillis.addingReportingOverflow(maxFutureSkewMillis)
        if !overflow, timestampMillis > newest { return .future }

        // The counter in milliseconds (x 4096 is a shift), against the frame's own time.
        let (bound, boundOverflow) = timestampMillis.addingReportingOverflow(Self.sequenceLeadMillis)
        if !boundOverflow, bound >= 0, (sequence & ~Self.streamBit) >> 12 > UInt64(bound) { return .implausible }

        tick &+= 1
        let key = Sender(name: sender, stream: sequence & Self.streamBit != 0)
        let slot: Int
        if lastSlot >= 0, names[lastSlot] == key {
            slot = lastSlot
        } else if let known = slots[key] {
            slot = known
        } else {
            lastSlot = add(key, first: sequence)
            return .accepted
        }
        lastSlot = slot
        var window = windows[slot]
        let verdict = bitmaps.withUnsafeMutableBufferPointer { all in
            window.record(sequence, in: UnsafeMutableBufferPointer(rebasing: all[Self.words(of: slot)]))
        }
        if verdict == .accepted {
            window.lastSeen = tick
            windows[slot] = window
        }
        return verdict
    }

    // Starts tracking `sender`, in a new slot, or the least recently seen sender's when
    // the table is full.
    private mutating func add(_ sender: Sender, first sequence: UInt64) -> Int {
        let slot: Int
        if slots.count < maxSenders {
            slot = windows.count
            windows.append(SenderWindow(first: sequence, tick: tick))
            bitmaps.append(contentsOf: repeatElement(0, count: Self.wordCount))
            names.append(Sender(name: "", stream: false))
        } else {
            slot = leastRecentlySeen()
            slots[names[slot]] = nil
        }
        windows[slot] = SenderWindow(first: sequence, tick: tick)
        for word in Self.words(of: slot) { bitmaps[word] = 0 }
        bitmaps[slot * Self.wordCount + SenderWindow.word(of: sequence)] = SenderWindow.bit(of: sequence)
        names[slot] = sender
        slots[sender] = slot
        return slot
    }

    // A linear scan, paid only when a new sender arrives while the table is full; senders
    // are authenticated cluster members, so that is rare.
    private func leastRecentlySeen() -> Int {
        var oldest = 0
        for slot in windows.indices where windows[slot].lastSeen < windows[oldest].lastSeen { oldest = slot }
        return oldest
    }

    // Words of one sender's bitmap: the 1024 numbers of the window, and one word more, so
    // that the word the highest number falls in never shares its place with the word of
    // a number still in the window.
    static var wordCount: Int { Int(windowSize / 64) + 1 }

    private static func words(of slot: Int) -> Range<Int> { slot * wordCount..<(slot + 1) * wordCount }
}

/// One sequence of one sender: its datagram frames, or its stream frames.
private struct Sender: Hashable, Sendable {
    var name: String
    var stream: Bool
}

/// One sender's highest sequence number and when it was last seen. Its bitmap of the
/// numbers seen lives in `ReplayWindow`'s buffer: a ring of 64-bit words in which number
/// n is bit n % 64 of word (n / 64) % wordCount, so that a new highest number clears only
/// the words it moves past, instead of shifting every mark.
private struct SenderWindow: Sendable {
    private var highest: UInt64
    var lastSeen: UInt64

    init(first sequence: UInt64, tick: UInt64) {
        highest = sequence
        lastSeen = tick
    }

    static func word(of sequence: UInt64) -> Int { Int((sequence / 64) % UInt64(ReplayWindow.wordCount)) }
    static func bit(of sequence: UInt64) -> UInt64 { 1 << (sequence % 64) }

    mutating func record(_ sequence: UInt64, in bitmap: UnsafeMutableBufferPointer<UInt64>) -> ReplayVerdict {
        if sequence > highest {
            // Words for the blocks of 64 numbers above the old highest's block, up to the new
            // one's, held marks of numbers that have now left the window.
            let blocks = min(sequence / 64 - highest / 64, UInt64(ReplayWindow.wordCount))
            var block = sequence / 64
            for _ in 0..<blocks {
                bitmap[Int(block % UInt64(ReplayWindow.wordCount))] = 0
                block &-= 1
            }
            highest = sequence
            bitmap[Self.word(of: sequence)] |= Self.bit(of: sequence)
            return .accepted
        }
        guard highest - sequence < ReplayWindow.windowSize else { return .belowWindow }
        let word = Self.word(of: sequence)
        let bit = Self.bit(of: sequence)
        guard bitmap[word] & bit == 0 else { return .duplicate }
        bitmap[word] |= bit
        return .accepted
    }
}
