import CZlib

/// zlib-format (RFC 1950) compression for `compressed` frames, with a hard cap on output.
///
/// A frame declares its inflated size. `inflate` trusts that size only as an upper bound it
/// checks against the cap before doing any work, allocates exactly that much, and refuses a
/// stream that would write more: a tiny "zip bomb" can never make the node allocate or
/// spend time proportional to what the stream would inflate to.
package enum Compression {
    /// The level Hearsay compresses `count` bytes at: zlib's fastest for a datagram's
    /// worth, its default above. A datagram of six or seven writes took about 190k
    /// instructions to deflate at level 6, a tenth of the agent's work on a durable PUT
    /// under load; at level 1 the writer sent as many bytes per PUT (48 to 55 against 50
    /// to 57 in the same hour, `docs/benchmarks.md`), since small bodies give the slower
    /// levels' longer searches little to find. Large bodies (anti-entropy pages, a
    /// member list) do: 64 MiB of zeros came to 286 KiB at level 1 and 64 KiB at 6.
    package static func defaultLevel(for count: Int) -> Int32 {
        count <= 16 * 1024 ? 1 : 6
    }

    /// `data` compressed in zlib format at `level` (0 stores, 1 is fastest, 9 smallest;
    /// by default, `defaultLevel(for:)` its size).
    package static func deflate(_ data: [UInt8], level: Int32? = nil) -> [UInt8] {
        let level = level ?? defaultLevel(for: data.count)
        precondition((0...9).contains(level), "zlib level must be 0...9, got \(level)")
        precondition(data.count <= UInt32.max, "input too large for one zlib call")
        var stream = z_stream()
        // deflateInit2 is a macro; its function form takes the version and struct size so
        // zlib can check that the header and library agree.
        let (windowBits, memoryLevel) = stateSize(for: data.count)
        var status = deflateInit2_(
            &stream, level, Z_DEFLATED, windowBits, memoryLevel, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
            Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "deflateInit failed: \(status)")
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, UInt(data.count)))
        return [UInt8](unsafeUninitializedCapacity: bound) { output, initialized in
            data.withUnsafeBufferPointer { input in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = UInt32(input.count)
                stream.next_out = output.baseAddress
                stream.avail_out = UInt32(bound)
                // deflateBound guarantees one Z_FINISH call completes the stream.
                status = CZlib.deflate(&stream, Z_FINISH)
            }
            precondition(status == Z_STREAM_END, "deflate did not finish: \(status)")
            initialized = Int(stream.total_out)
        }
    }

    /// The window (log2 of its bytes) and memory level of a stream that compresses
    /// `count` bytes.
    ///
    /// zlib's state grows with both: at its defaults (a 32 KiB window, memory level 8) it
    /// is 256 KiB, allocated and cleared for every frame, and above malloc's threshold, so
    /// every datagram mapped and unmapped it: 62 to 71 us to seal a compressed datagram of
    /// 64 or 1,400 bytes where a plain one took under 2 (`WireBenchmarks`). A window larger
    /// than the input finds no more matches, so the window fits the input (512 bytes to
    /// 32 KiB) and the hash table and block buffer (the memory level) shrink with it.
    /// Any zlib inflater reads the result: the stream's header names its window.
    static func stateSize(for count: Int) -> (windowBits: Int32, memoryLevel: Int32) {
        var windowBits: Int32 = 9
        while windowBits < 15 && (1 << windowBits) < count { windowBits += 1 }
        return (windowBits, max(1, min(8, windowBits - 7)))
    }

    /// Inflates the zlib stream `data`, which its frame declares inflates to exactly
    /// `declaredSize` bytes.
    ///
    /// Throws `WireError.tooLarge` when `declaredSize` exceeds `cap` (before inflating), and
    /// `WireError.decompressFailed` when the stream is corrupt or truncated, inflates to more
    /// or fewer bytes than declared, or is followed by trailing bytes. Allocates at most
    /// `declaredSize + 1` bytes for output plus zlib's fixed ~40 KiB of state.
    package static func inflate(_ data: [UInt8], declaredSize: Int, cap: Int) throws(WireError) -> [UInt8] {
        guard declaredSize >= 0 else { throw .decompressFailed("negative declared size \(declaredSize)") }
        guard declaredSize <= cap else {
            throw .tooLarge("declared inflated size \(declaredSize) exceeds the cap of \(cap)")
        }
        guard data.count <= UInt32.max, declaredSize < UInt32.max else {
            throw .tooLarge("compressed input of \(data.count) bytes")
        }
        var stream = z_stream()
        let initStatus = inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else { throw .decompressFailed("inflateInit failed: \(initStatus)") }
        defer { inflateEnd(&stream) }
        // One byte beyond the declared size: if zlib fills it, the stream is longer than
        // declared, and it never gets room to write more than that.
        let capacity = declaredSize + 1
        var status = Z_OK
        var outputLeft = 0
        var inputLeft = 0
        let output = [UInt8](unsafeUninitializedCapacity: capacity) { output, initialized in
            data.withUnsafeBufferPointer { input in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = UInt32(input.count)
                stream.next_out = output.baseAddress
                stream.avail_out = UInt32(capacity)
                // Z_OK means progress was made and more may follow; anything else ends it.
                repeat {
                    status = CZlib.inflate(&stream, Z_FINISH)
                } while status == Z_OK
            }
            outputLeft = Int(stream.avail_out)
            inputLeft = Int(stream.avail_in)
            initialized = capacity - outputLeft
        }
        let produced = output.count
        switch status {
        case Z_STREAM_END:
            guard produced == declaredSize else {
                throw .decompressFailed("inflated to \(produced) bytes, declared \(declaredSize)")
            }
            guard inputLeft == 0 else { throw .decompressFailed("\(inputLeft) bytes after the end of the stream") }
            return output
        case Z_BUF_ERROR where outputLeft == 0:
            throw .decompressFailed("inflates beyond the declared \(declaredSize) bytes")
        case Z_BUF_ERROR:
            throw .decompressFailed("stream truncated after \(produced) bytes")
        case Z_NEED_DICT:
            throw .decompressFailed("stream needs a preset dictionary")
        case Z_DATA_ERROR:
            throw .decompressFailed("corrupt stream: \(message(of: stream))")
        default:
            throw .decompressFailed("inflate failed: \(status)")
        }
    }

    private static func message(of stream: z_stream) -> String {
        stream.msg.map { String(cString: $0) } ?? "no detail"
    }
}
