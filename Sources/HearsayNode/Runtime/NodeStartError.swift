import HearsayCore
import HearsayWire

/// Why a node could not start; each names what to fix.
package enum NodeStartError: Error, CustomStringConvertible, Sendable {
    /// A setting is invalid.
    case invalidSetting(ValidationError)
    /// No cluster key was given.
    case missingKey
    /// The keyring file could not be read.
    case keyring(path: String, reason: String)
    /// The data directory could not be used.
    case persistence(PersistenceError)
    /// The data directory belongs to another node.
    case identityMismatch(stored: NodeID, configured: NodeID, directory: String)
    /// A socket could not be bound.
    case bind(what: String, address: String, reason: String)

    package var description: String {
        switch self {
        case .invalidSetting(let error): "\(error)"
        case .missingKey:
            "no cluster key: give --key (base64, see `hearsay keygen`) or --keyring FILE, or HEARSAY_KEY / HEARSAY_KEYRING"
        case .keyring(let path, let reason): "cannot use keyring \(path): \(reason)"
        case .persistence(let error): "data directory: \(error)"
        case .identityMismatch(let stored, let configured, let directory):
            "data directory \(directory) belongs to node '\(stored)', not '\(configured)': give --name \(stored) or another --data-dir"
        case .bind(let what, let address, let reason): "cannot listen for \(what) on \(address): \(reason)"
        }
    }
}
