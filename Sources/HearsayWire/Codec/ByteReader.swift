import HearsayCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads the primitive encodings of `docs/wire.md`, checking every length against the
/// bytes that remain, so no input can make it read out of bounds or allocate more than
/// the input could hold.
///
/// Its fast paths are explained where they live: the unchecked byte subscript and the
/// word-at-a-time varint here, and the lookups of names, addresses and clocks received
/// before in `ByteReader+Repeats.swift` (internal access to the bytes is for those).
package struct ByteReader {
    let bytes: [UInt8]
    /// The position of the next byte.
    package internal(set) var offset: Int
    let end: Int
    /// The frame's sender and the last other node name read (`ByteReader+Repeats.swift`).
    var recentNames: (KnownName?, KnownName?) = (nil, nil)
    /// Addresses received lately; empty (keeping nothing) unless a frame codec lends its own.
    var addresses = AddressTable()
    /// Vector clocks received lately; empty (keeping nothing) unless a frame codec lends its own.
    var clocks = ClockTable()

    /// Reads `bytes[range]` (the whole array by default); `range` must lie within `bytes`.
    package init(_ bytes: [UInt8], range: Range<Int>? = nil) {
        let range = range ?? 0..<bytes.count
        // Every read below relies on this to skip the array's own bounds check.
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count, "reader range outside its bytes")
        self.bytes = bytes
        self.offset = range.lowerBound
        self.end = range.upperBound
    }

    /// Bytes left.
    package var remaining: Int { end - offset }
    /// Whether every byte was read.
    package var isAtEnd: Bool { offset == end }

    private func short(_ what: String) -> WireError { .truncated("\(what) at byte \(offset)") }

    /// The next byte, not read past; nil at the end.
    var nextByte: UInt8? {
        @inline(__always) get { offset < end ? self[offset] : nil }
    }

    /// One byte.
    @inline(__always)
    package mutating func byte(_ what: String = "byte") throws(WireError) -> UInt8 {
        guard offset < end else { throw short(what) }
        defer { offset += 1 }
        return self[offset]
    }

    // `end <= bytes.count` (checked at init) and every caller checks `offset < end`, so
    // the array's second bounds check is redundant; it stood in the way of every byte read.
    @inline(__always)
    subscript(_ index: Int) -> UInt8 {
        bytes.withUnsafeBufferPointer { $0[index] }
    }

    /// Gives `body` the next `n` bytes, after checking they are there, and moves past them.
    @inline(__always)
    private mutating func take<R>(
        _ n: Int, _ what: String, _ body: (UnsafeBufferPointer<UInt8>) throws(WireError) -> R
    ) throws(WireError) -> R {
        guard n >= 0, n <= remaining else { throw short(what) }
        let start = offset
        offset += n
        return try bytes.withUnsafeBufferPointer { buffer throws(WireError) in
            try body(UnsafeBufferPointer(rebasing: buffer[start..<start + n]))
        }
    }

    /// An unsigned LEB128 varint of at most 10 bytes.
    @inline(__always)
    package mutating func varint(_ what: String = "varint") throws(WireError) -> UInt64 {
        // Most varints on the wire (lengths, counts, small counters) are one byte, and
        // most others (the lengths of payloads and values over 127 bytes) two.
        if offset < end {
            let first = self[offset]
            if first < 0x80 {
                offset += 1
                return UInt64(first)
            }
            if offset + 1 < end {
                let second = self[offset + 1]
                if second < 0x80 {
                    offset += 2
                    return UInt64(first & 0x7F) | UInt64(second) << 7
                }
            }
        }
        return try longVarint(what)
    }

    private mutating func longVarint(_ what: String) throws(WireError) -> UInt64 {
        if end - offset >= 8, let short = shortVarint(at: offset) {
            offset += short.length
            return short.value
        }
        // One pass over the buffer without throwing from inside it; the outcome says which
        // error, if any, to throw.
        let (value, next) = bytes.withUnsafeBufferPointer { buffer -> (UInt64, Int) in
            var result: UInt64 = 0
            var shift: UInt64 = 0
            var index = offset
            while index < end {
                let b = buffer[index]
                index += 1
                if shift == 63 && b > 1 { return (0, Self.overflows) }
                result |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return (result, index) }
                shift += 7
                if shift > 63 { return (0, Self.tooLong) }
            }
            return (0, Self.endReached)
        }
        switch next {
        case Self.overflows: throw .decodeError("\(what) overflows 64 bits")
        case Self.tooLong: throw .decodeError("\(what) longer than 10 bytes")
        case Self.endReached:
            offset = end
            throw short(what)
        default:
            offset = next
            return value
        }
    }

    /// The varint at `index` and its length, when it ends within the 8 bytes there, which
    /// must be in range; nil when it goes on.
    // Timestamps and sequence numbers are 5 to 8 bytes long: one load finds where they end,
    // instead of a bounds check and a branch per byte. Eight 7-bit groups are 56 bits, so
    // nothing here can overflow, and the loop above reads the same value from the same bytes.
    @inline(__always)
    private func shortVarint(at index: Int) -> (value: UInt64, length: Int)? {
        let word = bytes.withUnsafeBytes {
            UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: index, as: UInt64.self))
        }
        let stops = ~word & 0x8080_8080_8080_8080
        guard stops != 0 else { return nil }
        // The bits up to the first stop bit are the varint's bytes; without their
        // continuation bits, the 7-bit groups are pulled together in three steps (pairs,
        // then fours, then all eight) instead of one shift and mask per byte.
        var groups = word & (stops ^ (stops &- 1)) & 0x7F7F_7F7F_7F7F_7F7F
        groups = (groups & 0x007F_007F_007F_007F) | ((groups & 0x7F00_7F00_7F00_7F00) >> 1)
        groups = (groups & 0x0000_3FFF_0000_3FFF) | ((groups & 0x3FFF_0000_3FFF_0000) >> 2)
        groups = (groups & 0x0000_0000_0FFF_FFFF) | ((groups & 0x0FFF_FFFF_0000_0000) >> 4)
        return (groups, (stops.trailingZeroBitCount + 1) / 8)
    }

    private static var overflows: Int { -1 }
    private static var tooLong: Int { -2 }
    private static var endReached: Int { -3 }

    /// A varint that must fit an `Int`.
    @inline(__always)
    package mutating func int(_ what: String) throws(WireError) -> Int {
        let v = try varint(what)
        guard v <= UInt64(Int.max) else { throw .decodeError("\(what) out of range") }
        return Int(v)
    }

    /// A count of elements each at least `minimumSize` bytes long; a count the remaining
    /// bytes could not hold is refused before anything is allocated for it.
    @inline(__always)
    package mutating func count(_ what: String, minimumSize: Int = 1) throws(WireError) -> Int {
        let n = try int(what)
        guard n <= remaining / max(1, minimumSize) else { throw short("\(what) of \(n)") }
        return n
    }

    /// A zigzag varint.
    package mutating func zigzag(_ what: String = "integer") throws(WireError) -> Int64 {
        let v = try varint(what)
        return Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
    }

    /// Eight bytes, little-endian.
    package mutating func fixed64(_ what: String = "fixed64") throws(WireError) -> UInt64 {
        guard remaining >= 8 else { throw short(what) }
        return try take(8, what) { run throws(WireError) in
            UInt64(littleEndian: UnsafeRawBufferPointer(run).loadUnaligned(as: UInt64.self))
        }
    }

    /// A `Double`.
    package mutating func double(_ what: String = "double") throws(WireError) -> Double {
        Double(bitPattern: try fixed64(what))
    }

    /// `n` raw bytes.
    package mutating func raw(_ n: Int, _ what: String = "bytes") throws(WireError) -> ArraySlice<UInt8> {
        guard n >= 0, n <= remaining else { throw short(what) }
        defer { offset += n }
        return bytes[offset..<offset + n]
    }

    /// A length-prefixed byte array.
    package mutating func data(_ what: String = "bytes") throws(WireError) -> [UInt8] {
        let n = try count(what)
        return Array(try raw(n, what))
    }

    /// A string of valid UTF-8 of at most `maxBytes`.
    package mutating func string(_ what: String, maxBytes: Int = .max) throws(WireError) -> String {
        let n = try count(what)
        guard n <= maxBytes else { throw .tooLarge("\(what) of \(n) bytes, limit \(maxBytes)") }
        let text = try take(n, what) { run throws(WireError) in Self.text(run) }
        guard let text else { throw .decodeError("\(what) is not valid UTF-8") }
        return text
    }

    /// `run` as a string, or nil when it is not valid UTF-8; straight from the frame buffer
    /// into the string's storage, without an intermediate array.
    private static func text(_ run: UnsafeBufferPointer<UInt8>) -> String? {
        // `String(validating:as:)` is generic and not specialized for us: it looks up type
        // metadata at run time, which costs more than the copy. `String(decoding:)` checks
        // for ASCII itself and repairs invalid UTF-8 rather than refusing it, so its result
        // holds the run's very bytes exactly when the run was valid; one `memcmp` tells,
        // for less than a second pass of our own over every byte before it.
        let text = String(decoding: run, as: UTF8.self)
        let same = text.utf8.withContiguousStorageIfAvailable { utf8 in
            utf8.count == run.count && (run.isEmpty || memcmp(utf8.baseAddress!, run.baseAddress!, run.count) == 0)
        }
        return (same ?? text.utf8.elementsEqual(run)) ? text : nil
    }

    /// A string of at most `maxBytes` that `conforms` when it is not empty and each of its
    /// bytes passes `isAllowed`, which must allow only ASCII. Names and addresses are read
    /// this way: their rules are checked on the bytes as they are copied, instead of again
    /// on the finished string. A string that does not conform is still returned (when it
    /// is valid UTF-8), for its type's own check to say what is wrong with it.
    mutating func token(
        _ what: String, maxBytes: Int, allowing isAllowed: (UInt8) -> Bool
    ) throws(WireError) -> (text: String, conforms: Bool) {
        let n = try count(what)
        guard n <= maxBytes else { throw .tooLarge("\(what) of \(n) bytes, limit \(maxBytes)") }
        let result = try take(n, what) { run throws(WireError) -> (text: String, conforms: Bool)? in
            var allowed = true
            for byte in run where !isAllowed(byte) {
                allowed = false
                break
            }
            // The allowed bytes are ASCII, so a conforming run needs no further validation.
            if allowed { return (String(decoding: run, as: UTF8.self), n > 0) }
            guard let text = Self.text(run) else { return nil }
            return (text, false)
        }
        guard let result else { throw .decodeError("\(what) is not valid UTF-8") }
        return result
    }

    /// An array of strings.
    @inline(__always)
    package mutating func strings(_ what: String, maxBytes: Int = .max) throws(WireError) -> [String] {
        // Most lists of strings (a version's roles and replication nodes) are empty: their
        // count byte is read here instead of through a call into the generic reader.
        if nextByte == 0 {
            offset += 1
            return []
        }
        return try array(what) { reader throws(WireError) in try reader.string(what, maxBytes: maxBytes) }
    }

    /// An array: a count, checked against the bytes left for elements of at least
    /// `minimumSize` bytes, then each element as `element` reads it.
    package mutating func array<T>(
        _ what: String, minimumSize: Int = 1, _ element: (inout ByteReader) throws(WireError) -> T
    ) throws(WireError) -> [T] {
        let n = try count(what, minimumSize: minimumSize)
        // Empty lists (roles, replication nodes, clocks of messages about no entry) are
        // common; reserving nothing still costs a call into the array's growth path.
        if n == 0 { return [] }
        var out: [T] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try element(&self)) }
        return out
    }

    /// An optional: its tag, then the value as `element` reads it when present.
    package mutating func optional<T>(
        _ what: String, _ element: (inout ByteReader) throws(WireError) -> T
    ) throws(WireError) -> T? {
        try present(what) ? try element(&self) : nil
    }

    /// An optional's tag: true when a value follows.
    @inline(__always)
    package mutating func present(_ what: String) throws(WireError) -> Bool {
        switch try byte(what) {
        case 0: return false
        case 1: return true
        case let tag: throw .decodeError("\(what) has optional tag \(tag)")
        }
    }
}
