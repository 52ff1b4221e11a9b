import COpenSSL
import HearsayCore
import HearsayWire

// Frames per second on one core for sealing (sign + encode) and opening (verify +
// decode), beside raw HMAC-SHA256 over the same frame bytes in the same run.

let clock = ContinuousClock()
let key = [UInt8](repeating: 0x42, count: 32)
let sender = NodeID(unchecked: "node-bench")
let nowMillis: Int64 = 1_800_000_000_000

func seconds(_ d: Duration) -> Double {
    let c = d.components
    return Double(c.seconds) + Double(c.attoseconds) / 1e18
}

func format(_ x: Double, _ digits: Int = 2) -> String {
    // Whole numbers print without the ".0" that Double's description adds.
    if digits == 0 { return "\(Int(x.rounded()))" }
    let scale = (0..<digits).reduce(1.0) { a, _ in a * 10 }
    return "\((x * scale).rounded() / scale)"
}

/// Calls per second of each of `bodies` on one core. The bodies take turns of about `turn`
/// until each has run for about `budget`, and each keeps its fastest turn: on a shared
/// machine a turn in which another process had the core says nothing about the code, and
/// turns taken side by side see the same machine, so the ratios between bodies hold even
/// when the rates do not.
func rates(
    _ bodies: [() -> Void], budget: Duration = .milliseconds(700), turn: Duration = .milliseconds(10)
) -> [Double] {
    var best = [Double](repeating: 0, count: bodies.count)
    var spent = Duration.zero
    while spent < budget {
        for (index, body) in bodies.enumerated() {
            var n = 0
            let start = clock.now
            var elapsed = Duration.zero
            while elapsed < turn {
                for _ in 0..<16 { body() }
                n += 16
                elapsed = clock.now - start
            }
            best[index] = max(best[index], Double(n) / seconds(elapsed))
        }
        spent += turn
    }
    return best
}

/// One context_update message whose encoded payload is about `bytes` long, with a value
/// that compresses like typical JSON metadata. A `variant` gives the version an address
/// and a clock of its own (same address length, the clock's counter `variant + 1`), and
/// the message the version's clock, as the engine sends it.
func message(payloadBytes bytes: Int, variant: Int? = nil) -> GossipMessage {
    var text = ""
    var i = 0
    while text.utf8.count < bytes - 60 {
        text += "{\"role\":\"reader\",\"n\":\(i)}"
        i += 1
    }
    let version = ContextMetadata(
        address: MetadataAddress(unchecked: variant.map { "ucxl://agent/" + code($0) } ?? "ucxl://agent/ctx"),
        value: .string(String(text.prefix(max(0, bytes - 60)))),
        status: .active, vectorClock: VectorClock([sender: UInt64((variant ?? 0) + 1)]), updatedBy: sender,
        lastUpdated: Instant(nanoseconds: nowMillis * 1_000_000))
    // The engine sends a version's clock in the message too; the table's message, kept as
    // in the earlier rounds, leaves it out.
    return GossipMessage(
        id: 1, sender: sender, timestamp: Instant(nanoseconds: nowMillis * 1_000_000), ttl: 3,
        vectorClock: variant == nil ? VectorClock() : version.vectorClock, payload: .contextUpdate(version),
        metadata: MessageMetadata())
}

/// Three letters and digits for `n`, below 36^3.
func code(_ n: Int) -> String {
    let digits = Array("0123456789abcdefghijklmnopqrstuvwxyz")
    return String([digits[n / 1296 % 36], digits[n / 36 % 36], digits[n % 36]])
}

// `WireBenchmarks profile <mode> [payload bytes] [count] [distinct frames]` repeats one
// operation on a plain frame a fixed number of times and prints the time each took, so
// that callgrind or `perf stat` can count instructions and cycles for that operation
// alone. Modes: `seal`, `open` (cycling through `distinct` frames, 256 by default),
// `raw` (HMAC over one frame: the table's raw hot), `verify` (HMAC over the cycled frames:
// the table's raw cycled), `inspect` (opening without HMAC or replay window), `decode`
// (the messages alone) and `open-new`: `open` with an address and a clock of its own in
// every frame, which the codec's tables of recent addresses and clocks never hold (the
// frames of `open` repeat both, as versions gossiped again do), the clock also in the
// message as the engine sends it; `open-family`: the frames cycle through 16 addresses
// and clocks that differ in their last byte, as a family of keys and a writer's counter do.
func profile(_ arguments: ArraySlice<String>) throws {
    let rawKey = LibcryptoHMAC(key)
    let what = arguments.first ?? "open"
    let numbers = arguments.dropFirst().map { Int($0) ?? 0 }
    let size = numbers.count > 0 ? numbers[0] : 512
    let count = numbers.count > 1 ? numbers[1] : 100_000
    let distinct = numbers.count > 2 ? numbers[2] : 256
    var options = FrameCodec.Options()
    options.compress = false
    let messages = [message(payloadBytes: size)]
    let sealer = FrameCodec(sender: sender, keyring: try Keyring(primary: key), options: options, nowMillis: nowMillis)
    let opener = FrameCodec(
        sender: NodeID(unchecked: "node-rx"), keyring: try Keyring(primary: key), options: options,
        nowMillis: nowMillis)
    let frames = (0..<distinct).map { index in
        sealer.seal(
            what == "open-new"
                ? [message(payloadBytes: size, variant: index)]
                : what == "open-family" ? [message(payloadBytes: size, variant: index % 16)] : messages,
            nowMillis: nowMillis)
    }
    let start = clock.now
    switch what {
    case "seal":
        for _ in 0..<count { _ = sealer.seal(messages, nowMillis: nowMillis) }
    case "raw":
        frames[0].withUnsafeBytes { frame in
            withUnsafeTemporaryAllocation(byteCount: 32, alignment: 8) { out in
                for _ in 0..<count { rawKey.authenticate(frame, into: out) }
            }
        }
    case "decode":
        // The messages alone, as `open` finds them after the header: no HMAC, no replay window.
        var body = ByteWriter()
        MessageCodec.encodeBody(messages, into: &body)
        for _ in 0..<count {
            var reader = ByteReader(body.bytes)
            _ = try MessageCodec.decodeBody(&reader, sender: sender)
        }
    case "inspect":
        for i in 0..<count { _ = try opener.inspect(frames[i % frames.count], verify: false) }
    case "verify":
        withUnsafeTemporaryAllocation(byteCount: 32, alignment: 8) { out in
            for i in 0..<count {
                frames[i % frames.count].withUnsafeBytes { rawKey.authenticate($0, into: out) }
            }
        }
    default:
        var next = 0
        for _ in 0..<count {
            if next == frames.count {
                next = 0
                opener.resetReplayWindow()
            }
            _ = try opener.open(frames[next], nowMillis: nowMillis)
            next += 1
        }
    }
    print("\(what) \(size) B: \(format(seconds(clock.now - start) / Double(count) * 1e9, 0)) ns each")
}

func table() throws {
    let rawKey = LibcryptoHMAC(key)
    let codecKey = HMACKey(key)
    print(
        "wire frames, one core; raw = libcrypto HMAC-SHA256 (EVP_MAC, prepared key) over the same frame bytes: "
            + "raw hot over the one frame just sealed, as seal signs it; raw cycled over open's 4,096 frames "
            + "in open's order; each rate is the best of 10 ms turns taken in rotation")
    for size in [64, 512, 1400] {
        let messages = [message(payloadBytes: size)]
        for (name, encrypt, compress) in [
            ("plain", false, false), ("compressed", false, true), ("encrypted", true, false),
        ] {
            var options = FrameCodec.Options()
            options.encrypt = encrypt
            options.compress = compress
            options.compressionThreshold = 1
            let sealer = FrameCodec(
                sender: sender, keyring: try Keyring(primary: key), options: options, nowMillis: nowMillis)
            let frame = sealer.seal(messages, nowMillis: nowMillis)
            // Opening needs distinct frames: the replay window refuses a repeat, and a window
            // reset per call would be measured too. 4,096 frames of 710 B are 2.9 MB, more
            // than this machine's L2, so open reads them from L3 while a single frame would
            // stay in L1. The raw HMAC that open is compared with therefore goes through the
            // same frames in the same order, one after the other, so both pay for the same
            // cache misses. Sealing writes its frame and signs it at once, while it is in L1,
            // so it is compared with the HMAC of one frame that stays there.
            var frames: [[UInt8]] = []
            for _ in 0..<4096 { frames.append(sealer.seal(messages, nowMillis: nowMillis)) }
            var next = 0
            var nextRaw = 0
            let opener = FrameCodec(
                sender: NodeID(unchecked: "node-rx"), keyring: try Keyring(primary: key), options: options,
                nowMillis: nowMillis)
            let measured = frame.withUnsafeBytes { bytes in
                withUnsafeTemporaryAllocation(byteCount: 32, alignment: 8) { out in
                    rates([
                        { _ = sealer.seal(messages, nowMillis: nowMillis) },
                        {
                            if next == frames.count {
                                next = 0
                                opener.resetReplayWindow()
                            }
                            _ = try! opener.open(frames[next], nowMillis: nowMillis)
                            next += 1
                        },
                        { rawKey.authenticate(bytes, into: out) },
                        {
                            if nextRaw == frames.count { nextRaw = 0 }
                            frames[nextRaw].withUnsafeBytes { rawKey.authenticate($0, into: out) }
                            nextRaw += 1
                        },
                        { codecKey.authenticate(bytes, into: out) },
                    ])
                }
            }
            let (sealRate, openRate, rawHot, rawCycled) = (measured[0], measured[1], measured[2], measured[3])
            let codecHMAC = measured[4]
            print(
                "\(size) B payload, \(name): frame \(frame.count) B; seal \(format(sealRate / 1000, 0))k/s, "
                    + "open \(format(openRate / 1000, 0))k/s; raw HMAC hot \(format(rawHot / 1000, 0))k/s, "
                    + "cycled \(format(rawCycled / 1000, 0))k/s; seal/raw hot \(format(sealRate / rawHot)), "
                    + "open/raw cycled \(format(openRate / rawCycled)) (open/raw hot \(format(openRate / rawHot))); "
                    + "the codec's HMACKey hot \(format(codecHMAC / 1000, 0))k/s (\(format(codecHMAC / rawHot)) of raw)"
            )
        }
    }
}

let arguments = CommandLine.arguments.dropFirst()
if arguments.first == "profile" {
    try profile(arguments.dropFirst())
} else {
    try table()
}
