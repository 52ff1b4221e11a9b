import Foundation
import HearsayCore
import HearsayWire
import Testing

/// An agent numbers its frames from the wall clock at its start (milliseconds x 4096),
/// so that after a restart, a reboot included, its frames rank above its last life's in
/// its peers' replay windows; the monotonic clock starts again at boot and would not.
@Suite(.serialized) struct FrameSequenceTests {
    @Test func framesAreNumberedFromTheWallClock() async throws {
        // A listener posing as the agent's seed: the join arrives on it as a stream frame.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let port = FreePorts.take(1)[0]
        let bound = LoopbackAddress.with(port: port) { bind(listener, $0, $1) }
        #expect(bound == 0 && listen(listener, 4) == 0)
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        let cluster = AgentCluster(size: 1)
        defer { cluster.stop() }
        let agent = cluster.agents[0]
        try agent.start(key: cluster.key, join: [port])
        let connection = accept(listener, nil, nil)
        #expect(connection >= 0, "the agent never connected to its seed\n\(agent.logText)")
        guard connection >= 0 else { return }
        defer { close(connection) }
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while bytes.count < 4 || bytes.count < 4 + Int(bytes[0..<4].reduce(0) { $0 << 8 | UInt32($1) }) {
            let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            bytes += buffer[..<count]
        }
        let length = Int(bytes.prefix(4).reduce(0) { $0 << 8 | UInt32($1) })
        #expect(bytes.count >= 4 + length, "no whole frame from the agent")
        guard bytes.count >= 4 + length else { return }
        let key = try #require(Data(base64Encoded: cluster.key))
        let codec = FrameCodec(
            sender: NodeID(unchecked: "seed"), keyring: try Keyring(primary: Array(key)), nowMillis: 0)
        let frame = try codec.inspect(Array(bytes[4..<(4 + length)]), verify: true)
        let startedAt = Int64((frame.sequence & ~ReplayWindow.streamBit) >> 12)
        let wall = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(abs(wall - startedAt) < 60_000, "numbered from \(startedAt) ms, the wall clock reads \(wall) ms")
        #expect(frame.sequence & ReplayWindow.streamBit != 0, "a stream frame is numbered in the stream sequence")
    }
}
