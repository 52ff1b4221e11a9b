import HearsayCore

/// Reads the primitive encodings of `docs/wire.md`, checking every length against the
/// bytes that remain, so no input can make it read out of bounds or allocate more than
/// the input could hold.
public struct ByteReader {
    private let bytes: [UInt8]
    /// The position of the next byte.
    public private(set) var offset: Int
    private let end: Int

    /// Reads `bytes[range]` (the whole array by default).
    public init(_ bytes: [UInt8], range: Range<Int>? = nil) {
        self.bytes = bytes
        self.offset = range?.lowerBound ?? 0
        self.end = range?.upperBound ?? bytes.count
    }

    /// Bytes left.
    public var remaining: Int { end - offset }
    /// Whether every byte was read.
    public var isAtEnd: Bool { offset == end }

    private func short(_ what: String) -> WireError { .truncated("\(what) at byte \(offset)") }

    /// One byte.
    public mutating func byte(_ what: String = "byte") throws(WireError) -> UInt8 {
        guard offset < end else { throw short(what) }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// An unsigned LEB128 varint of at most 10 bytes.
    public mutating func varint(_ what: String = "varint") throws(WireError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte(what)
            if shift == 63 && b > 1 { throw .decodeError("\(what) overflows 64 bits") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw .decodeError("\(what) longer than 10 bytes") }
        }
    }

    /// A varint that must fit an `Int`.
    public mutating func int(_ what: String) throws(WireError) -> Int {
        let v = try varint(what)
        guard v <= UInt64(Int.max) else { throw .decodeError("\(what) out of range") }
        return Int(v)
    }

    /// A count of elements each at least `minimumSize` bytes long; a count the remaining
    /// bytes could not hold is refused before anything is allocated for it.
    public mutating func count(_ what: String, minimumSize: Int = 1) throws(WireError) -> Int {
        let n = try int(what)
        guard n <= remaining / max(1, minimumSize) else { throw short("\(what) of \(n)") }
        return n
    }

    /// A zigzag varint.
    public mutating func zigzag(_ what: String = "integer") throws(WireError) -> Int64 {
        let v = try varint(what)
        return Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
    }

    /// Eight bytes, little-endian.
    public mutating func fixed64(_ what: String = "fixed64") throws(WireError) -> UInt64 {
        guard remaining >= 8 else { throw short(what) }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        offset += 8
        return v
    }

    /// A `Double`.
    public mutating func double(_ what: String = "double") throws(WireError) -> Double {
        Double(bitPattern: try fixed64(what))
    }

    /// `n` raw bytes.
    public mutating func raw(_ n: Int, _ what: String = "bytes") throws(WireError) -> ArraySlice<UInt8> {
        guard n >= 0, n <= remaining else { throw short(what) }
        defer { offset += n }
        return bytes[offset..<offset + n]
    }

    /// A length-prefixed byte array.
    public mutating func data(_ what: String = "bytes") throws(WireError) -> [UInt8] {
        let n = try count(what)
        return Array(try raw(n, what))
    }

    /// A string of valid UTF-8 of at most `maxBytes`.
    public mutating func string(_ what: String, maxBytes: Int = .max) throws(WireError) -> String {
        let n = try count(what)
        guard n <= maxBytes else { throw .tooLarge("\(what) of \(n) bytes, limit \(maxBytes)") }
        guard n <= remaining else { throw short(what) }
        let start = offset
        offset += n
        // Names and addresses are ASCII: those skip UTF-8 validation, which costs more
        // than the rest of decoding them.
        let text: String? = bytes.withUnsafeBufferPointer { buffer in
            let run = UnsafeBufferPointer(rebasing: buffer[start..<start + n])
            if run.allSatisfy({ $0 < 0x80 }) { return String(decoding: run, as: UTF8.self) }
            return String(validating: run, as: UTF8.self)
        }
        guard let text else { throw .decodeError("\(what) is not valid UTF-8") }
        return text
    }

    /// An array of strings.
    public mutating func strings(_ what: String, maxBytes: Int = .max) throws(WireError) -> [String] {
        try array(what) { reader throws(WireError) in try reader.string(what, maxBytes: maxBytes) }
    }

    /// An array: a count, checked against the bytes left for elements of at least
    /// `minimumSize` bytes, then each element as `element` reads it.
    public mutating func array<T>(
        _ what: String, minimumSize: Int = 1, _ element: (inout ByteReader) throws(WireError) -> T
    ) throws(WireError) -> [T] {
        let n = try count(what, minimumSize: minimumSize)
        var out: [T] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try element(&self)) }
        return out
    }

    /// An optional: its tag, then the value as `element` reads it when present.
    public mutating func optional<T>(
        _ what: String, _ element: (inout ByteReader) throws(WireError) -> T
    ) throws(WireError) -> T? {
        try present(what) ? try element(&self) : nil
    }

    /// An optional's tag: true when a value follows.
    public mutating func present(_ what: String) throws(WireError) -> Bool {
        switch try byte(what) {
        case 0: return false
        case 1: return true
        case let tag: throw .decodeError("\(what) has optional tag \(tag)")
        }
    }
}
