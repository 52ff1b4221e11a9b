import HearsayCore

/// Protocol-wide limits of the wire format; `docs/wire.md` explains each.
public enum WireLimits {
    /// The frame format version this build writes and accepts.
    public static let protocolVersion: UInt8 = 1

    /// The largest UDP frame Hearsay sends: under the 1500-byte Ethernet MTU with room
    /// for IP and UDP headers and tunnel encapsulation, so datagrams are never fragmented.
    public static let maxDatagramBytes = 1400

    /// The default largest length-prefixed TCP frame.
    public static let defaultMaxStreamFrameBytes = 16 * 1024 * 1024
}
