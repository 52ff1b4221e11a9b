import HearsayCore

/// The decoder's one cross-frame trick: names, metadata addresses and vector clocks that
/// a codec received before are recognised on the frame's bytes and shared, instead of
/// being built and checked again.
///
/// Gossip repeats itself. A frame names its sender in the header, then often again as a
/// version's writer and in vector clocks; a node hears each version from several peers
/// and again in anti-entropy, so most addresses and clocks it receives it has received
/// before. The tables (`AddressTable`, `ClockTable`) belong to a `FrameCodec`, which lends
/// them to each frame's reader, so one frame's decoding depends on the frames before it.
/// They are caches only: a lookup matches on every byte of the encoding, or reads
/// nothing, and only values that passed their checks are stored. The fuzzer's sequence
/// mode (`FrameFuzzing.runSequence`) and `FuzzCorpusTests` hold a long-lived codec to
/// decoding every frame exactly as a fresh one does.
extension ByteReader {
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
        // A name of up to 127 bytes has a one-byte length varint (under 0x80); a 128-byte
        // name, the longest, takes two and is never found here, only decoded.
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
}
