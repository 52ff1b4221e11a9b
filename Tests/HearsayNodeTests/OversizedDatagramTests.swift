import Foundation
import HearsayCore
import HearsayWire
import Testing

/// Datagrams larger than any sender seals are dropped as `too_large`, signed or not,
/// including those the socket cut short (issue 13, item 5).
@Suite(.serialized) struct OversizedDatagramTests {
    /// Sends `bytes` to the agent's UDP port from a socket of its own.
    private func send(_ bytes: [UInt8], to port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        _ = bytes.withUnsafeBytes { buffer in
            LoopbackAddress.with(port: port) { sendto(fd, buffer.baseAddress, buffer.count, 0, $0, $1) }
        }
    }

    private func drops(_ agent: AgentProcess, _ reason: String) -> Double {
        ((try? agent.client.request("GET", "/metrics").text) ?? "").split(separator: "\n").filter {
            $0.hasPrefix("hearsay_messages_dropped_total{") && $0.contains("reason=\"\(reason)\"")
        }.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }

    @Test func signedOrNotTheyAreCountedAsTooLarge() async throws {
        let cluster = AgentCluster(size: 1)
        defer { cluster.stop() }
        let agent = cluster.agents[0]
        try agent.start(key: cluster.key)
        #expect(await eventually { agent.isHealthy }, "\(agent.logText)")
        let key = try #require(Data(base64Encoded: cluster.key))
        var options = FrameCodec.Options()
        options.compress = false
        let codec = FrameCodec(
            sender: NodeID(unchecked: "intruder"), keyring: try Keyring(primary: Array(key)), options: options,
            nowMillis: Int64(Date().timeIntervalSince1970 * 1000))
        func signed(atLeast size: Int) -> [UInt8] {
            var length = 10
            while true {
                let version = ContextMetadata(
                    address: MetadataAddress(unchecked: "big"), value: .string(String(repeating: "x", count: length)),
                    status: .active, vectorClock: VectorClock([NodeID(unchecked: "intruder"): 1]),
                    updatedBy: NodeID(unchecked: "intruder"), lastUpdated: Instant(nanoseconds: 0))
                let message = GossipMessage(
                    id: 1, sender: NodeID(unchecked: "intruder"), timestamp: Instant(nanoseconds: 0), ttl: 1,
                    payload: .contextUpdate(version), metadata: MessageMetadata())
                let frame = codec.seal([message], nowMillis: Int64(Date().timeIntervalSince1970 * 1000))
                if frame.count >= size { return frame }
                length += 8
            }
        }
        // Two signed datagrams over the 1,400-byte limit, one over the 2,048 bytes the
        // socket reads (it arrives cut short), and one unsigned over both.
        let datagrams = [
            signed(atLeast: 1416), signed(atLeast: 1552), signed(atLeast: 3000), [UInt8](repeating: 7, count: 4000),
        ]
        for datagram in datagrams { send(datagram, to: agent.gossipPort) }
        let counted = await eventually { drops(agent, "too_large") == Double(datagrams.count) }
        #expect(counted, "too_large \(drops(agent, "too_large")) of \(datagrams.count)")
        #expect(drops(agent, "bad_signature") == 0 && drops(agent, "unknown_key") == 0)
        #expect(agent.values("big").isEmpty, "an oversized datagram changed the store")
    }
}
