import ArgumentParser
import HearsayNode
import HearsayWire

/// `hearsay keygen`: a new cluster key.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Print a new random 32-byte cluster key in base64, or write a keyring file.",
        discussion: """
            The key comes from the kernel (getrandom). Put it in a keyring file (a JSON array \
            of base64 keys, the first one signs) shared by every node; to rotate keys, \
            install the new key everywhere, use it, then remove the old one.
            """)

    @Option(help: "Write a keyring file holding the new key as its primary (mode 0600) instead of printing it.")
    var keyringFile: String?

    func run() throws {
        let key = Keyring.generateKey()
        guard let keyringFile else {
            print(Base64.encode(key))
            return
        }
        let ring = try Keyring(primary: key)
        do {
            try FileIO.write(Array(ring.fileText.utf8), to: keyringFile, mode: 0o600)
        } catch {
            throw ValidationError("cannot write \(keyringFile): \(error)")
        }
        print("wrote \(keyringFile) with key id \(ring.primaryKeyID)")
    }
}
