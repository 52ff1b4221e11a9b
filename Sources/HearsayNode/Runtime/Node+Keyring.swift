import HearsayCore
import HearsayWire
import Logging

/// Changes to this node's keyring, whoever asks: the API for this agent alone, or a
/// keyring request from the member an operator called (`Node+KeyringRequests`).
extension Node {
    /// What changing this node's keyring came to.
    enum KeyringChange {
        case changed
        /// The keyring already was so (a request repeated, or signed with two keys).
        case unchanged
        /// Refused by the keyring's rules (`conflict`) or by the disk; nothing changed.
        case refused(String, conflict: Bool)
    }

    /// Does `operation` with `key`, writes the keyring file when there is one, and only
    /// then signs and verifies with the new keys. `idempotent` takes a request that is
    /// already satisfied (install an installed key, use the primary, remove a key not
    /// held) as done, as a cluster-wide operation must when it reaches a member twice.
    func changeKeyring(
        _ operation: KeyringOperation, _ key: [UInt8], idempotent: Bool, requestedBy: NodeID? = nil
    ) -> KeyringChange {
        var changed = keyring
        let id = KeyID(of: key)
        do {
            switch operation {
            case .list: return .unchanged
            case .install:
                if idempotent, changed.keyIDs.contains(id) { return .unchanged }
                try changed.install(key)
            case .use:
                if idempotent, changed.primaryKeyID == id { return .unchanged }
                try changed.use(key)
            case .remove:
                if idempotent, !changed.keyIDs.contains(id) { return .unchanged }
                try changed.remove(key)
            }
        } catch {
            return .refused("\(error)", conflict: true)
        }
        if changed.keyIDs == keyring.keyIDs { return .unchanged }
        if let path = settings.keyringFile {
            // On the event loop, unlike the log: a keyring request is answered on the
            // connection it came on, while its frames are handled, to reach a member this
            // node may not know. Key changes are an operator's, a few a year.
            do {
                try DurableFile.replace(path, with: Array(changed.fileText.utf8), directory: Self.directory(of: path))
            } catch {
                return .refused("keyring not changed: cannot write \(path): \(error)", conflict: false)
            }
        }
        keyring = changed
        codec.update(keyring: changed)
        var fields: Logger.Metadata = [
            "event": "keyring_changed", "operation": "\(operation.name)", "key": "\(id)",
            "primary": "\(changed.primaryKeyID)",
        ]
        if let requestedBy { fields["requested_by"] = "\(requestedBy)" }
        logger.notice("keyring changed", metadata: fields)
        return .changed
    }

    /// This node's keys as the API shows them.
    var keysJSON: JSONValue {
        .object([
            "primary": .string(keyring.primaryKeyID.description),
            "keys": .array(keyring.keyIDs.map { .string($0.description) }),
            "keyring_file": settings.keyringFile.map(JSONValue.string) ?? .null,
        ])
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
