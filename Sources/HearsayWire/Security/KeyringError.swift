/// Why a keyring operation or keyring file was refused.
package enum KeyringError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A keyring needs a primary key to sign with.
    case empty
    /// A key is not 32 bytes long; `index` is its position in the file, when it came from one.
    case wrongKeyLength(length: Int, index: Int?)
    /// A key in the file is not valid base64.
    case badBase64(index: Int, problem: Base64.DecodingError)
    /// The file is not a JSON array of strings.
    case malformedFile(String)
    /// The key is not installed, so it cannot be made primary or removed.
    case notInstalled(KeyID)
    /// The primary key signs outgoing frames; make another key primary before removing it.
    case cannotRemovePrimary(KeyID)
    /// A different key with the same id is already installed; receivers could not tell the
    /// two apart, so the new key must be regenerated.
    case keyIDCollision(KeyID)
    /// The file lists one key twice (at `index` and at `first`): a slip in editing it,
    /// which would leave a key meant to be removed or added unaccounted for.
    case duplicateKey(index: Int, first: Int)

    package var description: String {
        switch self {
        case .empty:
            "keyring is empty: it needs at least a primary key"
        case .wrongKeyLength(let length, let index?):
            "key \(index) is \(length) bytes, expected \(Keyring.keyByteCount)"
        case .wrongKeyLength(let length, nil):
            "key is \(length) bytes, expected \(Keyring.keyByteCount)"
        case .badBase64(let index, let problem):
            "key \(index) is not valid base64: \(problem)"
        case .malformedFile(let problem):
            "keyring file is not a JSON array of base64 strings: \(problem)"
        case .notInstalled(let id):
            "key \(id) is not installed"
        case .cannotRemovePrimary(let id):
            "key \(id) is the primary key; use another key before removing it"
        case .keyIDCollision(let id):
            "a different key with id \(id) is already installed; generate a new key"
        case .duplicateKey(let index, let first):
            "key \(index) is the same as key \(first); list each key once"
        }
    }
}
