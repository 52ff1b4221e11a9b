import HearsayWire

/// What this build is, for `hearsay --version` and `hearsay_build_info`.
package enum BuildInfo {
    /// The release version of Hearsay.
    package static let version = "0.1.0"

    /// The wire protocol version, as a label value.
    package static var protocolVersion: String { String(WireLimits.protocolVersion) }
}
