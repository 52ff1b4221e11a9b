import Testing

@testable import HearsayWire

@Suite struct WireLimitsTests {
    @Test func datagramsFitUnderEthernetMTU() {
        // 1500 MTU - 20 IPv4 - 8 UDP leaves 1472; we keep further headroom for tunnels.
        #expect(WireLimits.maxDatagramBytes <= 1472)
        #expect(WireLimits.defaultMaxStreamFrameBytes > WireLimits.maxDatagramBytes)
    }
}
