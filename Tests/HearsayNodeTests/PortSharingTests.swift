import Foundation
import Testing

/// No other process can bind an agent's gossip UDP port beside it (issue 13, item 8):
/// the agent set SO_REUSEADDR on it, so on Linux any process that also set it could
/// bind the port and take a share of the agent's datagrams.
@Suite(.serialized) struct PortSharingTests {
    @Test func theGossipPortCannotBeShared() async throws {
        let cluster = AgentCluster(size: 1)
        defer { cluster.stop() }
        let agent = cluster.agents[0]
        try agent.start(key: cluster.key, persistent: false)
        #expect(await eventually { agent.isHealthy }, "\(agent.logText)")
        for type in [SOCK_DGRAM, SOCK_STREAM] {
            let fd = socket(AF_INET, Int32(type.rawValue), 0)
            defer { close(fd) }
            var on: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
            let bound = LoopbackAddress.with(port: agent.gossipPort) { bind(fd, $0, $1) }
            let error = errno
            #expect(bound != 0 && error == EADDRINUSE, "a \(type) socket with SO_REUSEADDR bound the gossip port")
        }
    }
}
