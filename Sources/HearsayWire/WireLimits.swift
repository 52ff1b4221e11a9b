import HearsayCore

/// Protocol-wide limits of the wire format; `docs/wire.md` explains each.
package enum WireLimits {
    /// The frame format version this build writes and accepts.
    package static let protocolVersion: UInt8 = 1

    /// The largest UDP frame Hearsay sends: under the 1500-byte Ethernet MTU with room
    /// for IP and UDP headers and tunnel encapsulation, so datagrams are never fragmented.
    package static let maxDatagramBytes = 1400

    /// The default largest length-prefixed TCP frame.
    package static let defaultMaxStreamFrameBytes = 16 * 1024 * 1024

    /// The largest TCP frame a receiver takes before a frame on the same connection has
    /// passed its checks. A frame's HMAC comes at its end, so a receiver must buffer a
    /// frame whole before it can tell a peer from a stranger; without this limit, anyone
    /// who can reach the port could make it buffer `maxStreamFrameBytes` per connection.
    /// A sender puts an empty frame before any larger one (`FrameCodec.sealStream`).
    package static let maxUnauthenticatedStreamFrameBytes = 16 * 1024
}
