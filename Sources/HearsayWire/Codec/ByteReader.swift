import HearsayCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads the primitive encodings of `docs/wire.md`, checking every length against the
/// bytes that remain, so no input can make it read out of bounds or allocate more than
/// the input could hold.
package struct ByteReader {
    private let bytes: [UInt8]
    /// The position of the next byte.
    package private(set) var offset: Int
    private let end: Int
    // The frame's sender and the last other node name read: a frame names its sender in
    // the header, then often again as a version's writer and in vector clocks, and a
    // version's writer is in its clock. A repeat is recognised on the bytes and shares
    // the earlier string instead of building and checking a new one.
    private var recentNames: (KnownName?, KnownName?) = (nil, nil)
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
    private subscript(_ index: Int) -> UInt8 {
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

    /// Remembers `name`, a valid node name, as the frame's sender for `repeatedName()`
    /// to recognise: it stays until the next sender.
    mutating func remember(sender name: NodeID) {
        recentNames.0 = KnownName(name)
    }

    /// Remembers `name` as the frame's sender, like `remember(sender:)`.
    mutating func remember(sender name: KnownName) {
        recentNames.0 = name
    }

    /// Remembers `name`, a valid node name, for `repeatedName()` to recognise until the
    /// next name is remembered.
    mutating func remember(_ name: NodeID) {
        recentNames.1 = KnownName(name)
    }

    /// When the next string is a name `remember` was given, that name, read past; nil,
    /// with nothing read, otherwise.
    mutating func repeatedName() -> NodeID? {
        guard offset < end else { return nil }
        // A remembered name is 1 to 128 bytes: its length varint is the next byte, and
        // a byte under 0x80 is a whole varint.
        let n = Int(self[offset])
        guard n < 0x80, n < end - offset else { return nil }
        let start = offset + 1
        let match: NodeID?
        if n <= 16 && start + 16 <= bytes.count {
            // Sixteen bytes from the name's start lie within the array (in a frame, the HMAC
            // follows the messages); the bytes past the name are masked off.
            let words = bytes.withUnsafeBytes {
                (
                    UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt64.self)),
                    UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: start + 8, as: UInt64.self))
                )
            }
            if let known = recentNames.0, known.matches(count: n, words: words) {
                match = known.name
            } else if let known = recentNames.1, known.matches(count: n, words: words) {
                match = known.name
            } else {
                match = nil
            }
        } else {
            match = bytes.withUnsafeBufferPointer { buffer -> NodeID? in
                let run = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buffer[start..<start + n]))
                if let known = recentNames.0, Self.equal(known.name.rawValue, run) { return known.name }
                if let known = recentNames.1, Self.equal(known.name.rawValue, run) { return known.name }
                return nil
            }
        }
        if match != nil { offset = start + n }
        return match
    }

    /// When the next string is an address `addresses` holds, that address, read past.
    /// Otherwise nil, with nothing read, and the slot in which to store the address once
    /// it has passed its check (nil when the table does not keep it).
    mutating func repeatedAddress() -> (address: MetadataAddress?, slot: Int?) {
        guard addresses.keepsAny, offset < end else { return (nil, nil) }
        // A kept address is 16 to 127 bytes: its length varint is the next byte.
        let n = Int(self[offset])
        guard n < 0x80, n < end - offset else { return (nil, nil) }
        let start = offset + 1
        let found = bytes.withUnsafeBufferPointer { buffer -> (address: MetadataAddress?, slot: Int?) in
            let run = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buffer[start..<start + n]))
            guard let slot = addresses.slot(for: run) else { return (nil, nil) }
            return (addresses.address(in: slot, spelled: run), slot)
        }
        if found.address != nil { offset = start + n }
        return found
    }

    /// When the next bytes encode a vector clock `clocks` holds, that clock, read past.
    /// Otherwise nil, with nothing read, and the key under which to store the clock once
    /// it is decoded (nil when the table would not keep it).
    mutating func repeatedClock() -> (clock: VectorClock?, key: ClockTable.Key?) {
        guard clocks.keepsAny, offset < end, offset + ClockTable.maxBytes <= bytes.count else { return (nil, nil) }
        // Where the encoding ends, found without decoding it: a count, then per entry a
        // name (length byte and bytes) and a counter varint. Anything unusual (long
        // varints, more than 32 bytes) is left to the decoder, uncached.
        let limit = min(end, offset + ClockTable.maxBytes)
        let stop = bytes.withUnsafeBufferPointer { buffer -> Int? in
            let entries = Int(buffer[offset])
            guard entries > 0, entries < 0x80 else { return nil }
            var index = offset + 1
            for _ in 0..<entries {
                guard index < limit else { return nil }
                let length = Int(buffer[index])
                guard length < 0x80 else { return nil }
                index += 1 + length
                while index < limit && buffer[index] >= 0x80 { index += 1 }
                guard index < limit else { return nil }
                index += 1
            }
            return index
        }
        guard let stop else { return (nil, nil) }
        let words = bytes.withUnsafeBytes { raw in
            (
                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)),
                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)),
                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self)),
                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self))
            )
        }
        let key = clocks.key(count: stop - offset, words: words)
        guard let clock = clocks.clock(for: key) else { return (nil, key) }
        offset = stop
        return (clock, nil)
    }

    static func equal(_ text: String, _ run: UnsafeRawBufferPointer) -> Bool {
        guard text.utf8.count == run.count else { return false }
        // Eight bytes at a time: `elementsEqual` goes byte by byte through generic code.
        return text.utf8.withContiguousStorageIfAvailable { utf8 in
            let name = UnsafeRawBufferPointer(utf8)
            var index = 0
            while index + 8 <= run.count {
                let left = name.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                guard left == run.loadUnaligned(fromByteOffset: index, as: UInt64.self) else { return false }
                index += 8
            }
            while index < run.count {
                guard name[index] == run[index] else { return false }
                index += 1
            }
            return true
        } ?? text.utf8.elementsEqual(run)
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
