/// The shared secret keys of a cluster: one primary key that signs (and encrypts) outgoing
/// frames, and any number of further keys that incoming frames may use.
///
/// Rotation without downtime follows serf's steps: `install` the new key on every node (all
/// now accept it), `use` it on every node (all now sign with it, and still accept the old
/// one), then `remove` the old key everywhere.
///
/// The description shows key ids only, never key material, so a keyring can be logged.
package struct Keyring: Equatable, Sendable, CustomStringConvertible {
    /// The length of every key in bytes (AES-256 and HMAC-SHA256 both use 32).
    package static let keyByteCount = 32

    /// The installed keys, primary first.
    package private(set) var keys: [[UInt8]]
    private var ids: [KeyID]

    /// A keyring with `primary` as its primary key and `others` also accepted.
    package init(primary: [UInt8], others: [[UInt8]] = []) throws(KeyringError) {
        try Self.checkLength(primary, index: nil)
        keys = [primary]
        ids = [KeyID(of: primary)]
        for key in others {
            try install(key)
        }
    }

    /// The key that signs and encrypts outgoing frames.
    package var primaryKey: [UInt8] { keys[0] }

    /// The id that outgoing frames carry.
    package var primaryKeyID: KeyID { ids[0] }

    /// The ids of the installed keys, primary first.
    package var keyIDs: [KeyID] { ids }

    /// The installed key with `id`, or nil: the frame's key is unknown.
    package func key(for id: KeyID) -> [UInt8]? {
        // A linear scan: keyrings hold a handful of keys, fewer than a hash table would pay off for.
        ids.firstIndex(of: id).map { keys[$0] }
    }

    /// Adds `key` as an accepted key; installing an installed key does nothing.
    package mutating func install(_ key: [UInt8]) throws(KeyringError) {
        try Self.checkLength(key, index: nil)
        let id = KeyID(of: key)
        if let index = ids.firstIndex(of: id) {
            guard keys[index] == key else { throw .keyIDCollision(id) }
            return
        }
        keys.append(key)
        ids.append(id)
    }

    /// Makes the installed `key` the primary key; the previous primary stays accepted.
    package mutating func use(_ key: [UInt8]) throws(KeyringError) {
        let index = try installedIndex(of: key)
        keys.swapAt(0, index)
        ids.swapAt(0, index)
    }

    /// Stops accepting `key`, which must be installed and not primary.
    package mutating func remove(_ key: [UInt8]) throws(KeyringError) {
        let index = try installedIndex(of: key)
        guard index != 0 else { throw .cannotRemovePrimary(ids[0]) }
        keys.remove(at: index)
        ids.remove(at: index)
    }

    /// A fresh random 32-byte key.
    package static func generateKey() -> [UInt8] {
        SecureRandom.bytes(count: keyByteCount)
    }

    /// A fresh random key as base64 text, the form keyring files and configuration use.
    package static func generateKeyText() -> String {
        Base64.encode(generateKey())
    }

    package var description: String {
        "Keyring(primary: \(primaryKeyID), accepted: [\(ids.dropFirst().map(\.description).joined(separator: ", "))])"
    }

    private func installedIndex(of key: [UInt8]) throws(KeyringError) -> Int {
        let id = KeyID(of: key)
        guard let index = ids.firstIndex(of: id), keys[index] == key else { throw .notInstalled(id) }
        return index
    }

    static func checkLength(_ key: [UInt8], index: Int?) throws(KeyringError) {
        guard key.count == keyByteCount else { throw .wrongKeyLength(length: key.count, index: index) }
    }
}
