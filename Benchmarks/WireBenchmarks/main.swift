import COpenSSL
import HearsayCore
import HearsayWire

// Frames per second on one core for sealing (sign + encode) and opening (verify +
// decode), beside raw HMAC-SHA256 over the same number of bytes in the same run.

let clock = ContinuousClock()
let key = [UInt8](repeating: 0x42, count: 32)
let sender = NodeID(unchecked: "node-bench")
let nowMillis: Int64 = 1_800_000_000_000

func seconds(_ d: Duration) -> Double {
    let c = d.components
    return Double(c.seconds) + Double(c.attoseconds) / 1e18
}

func format(_ x: Double, _ digits: Int = 2) -> String {
    let scale = (0..<digits).reduce(1.0) { a, _ in a * 10 }
    return "\((x * scale).rounded() / scale)"
}

/// Runs `body` repeatedly for about `budget`, returning calls per second.
func rate(_ budget: Duration = .milliseconds(700), _ body: () -> Void) -> Double {
    var n = 0
    let start = clock.now
    var elapsed = Duration.zero
    while elapsed < budget {
        for _ in 0..<256 { body() }
        n += 256
        elapsed = clock.now - start
    }
    return Double(n) / seconds(elapsed)
}

/// One context_update message whose encoded payload is about `bytes` long, with a value
/// that compresses like typical JSON metadata.
func message(payloadBytes bytes: Int) -> GossipMessage {
    var text = ""
    var i = 0
    while text.utf8.count < bytes - 60 {
        text += "{\"role\":\"reader\",\"n\":\(i)}"
        i += 1
    }
    let version = ContextMetadata(
        address: MetadataAddress(unchecked: "ucxl://agent/ctx"),
        value: .string(String(text.prefix(max(0, bytes - 60)))),
        status: .active, vectorClock: VectorClock([sender: 1]), updatedBy: sender,
        lastUpdated: Instant(nanoseconds: nowMillis * 1_000_000))
    return GossipMessage(
        id: 1, sender: sender, timestamp: Instant(nanoseconds: nowMillis * 1_000_000), ttl: 3,
        payload: .contextUpdate(version), metadata: MessageMetadata())
}

let rawKey = HMACKey(key)
print("wire frames, one core; raw = libcrypto HMAC-SHA256 over the same frame bytes (prepared key)")
for size in [64, 512, 1400] {
    let messages = [message(payloadBytes: size)]
    for (name, encrypt, compress) in [("plain", false, false), ("compressed", false, true), ("encrypted", true, false)]
    {
        var options = FrameCodec.Options()
        options.encrypt = encrypt
        options.compress = compress
        options.compressionThreshold = 1
        let sealer = FrameCodec(
            sender: sender, keyring: try Keyring(primary: key), options: options, nowMillis: nowMillis)
        let frame = sealer.seal(messages, nowMillis: nowMillis)
        let sealRate = rate { _ = sealer.seal(messages, nowMillis: nowMillis) }
        // A fresh frame each time would measure sealing too; the replay window is the one
        // check that refuses a repeated frame, so opening uses a window that keeps no state.
        var frames: [[UInt8]] = []
        for _ in 0..<4096 { frames.append(sealer.seal(messages, nowMillis: nowMillis)) }
        var next = 0
        let opener = FrameCodec(
            sender: NodeID(unchecked: "node-rx"), keyring: try Keyring(primary: key), options: options,
            nowMillis: nowMillis)
        let openRate = rate {
            if next == frames.count {
                next = 0
                opener.resetReplayWindow()
            }
            _ = try! opener.open(frames[next], nowMillis: nowMillis)
            next += 1
        }
        let raw = frame.withUnsafeBytes { bytes in
            withUnsafeTemporaryAllocation(byteCount: 32, alignment: 8) { out in
                rate { rawKey.authenticate(bytes, into: out) }
            }
        }
        print(
            "\(size) B payload, \(name): frame \(frame.count) B; seal \(format(sealRate / 1000, 0))k/s, "
                + "open \(format(openRate / 1000, 0))k/s; raw HMAC \(format(raw / 1000, 0))k/s; "
                + "seal/raw \(format(sealRate / raw)), open/raw \(format(openRate / raw))")
    }
}
