import ArgumentParser
import HearsayCore
import HearsayNode
import HearsayWire

/// `hearsay decode`: shows a captured frame as JSON with the Go original's field names.
struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode a Hearsay frame into JSON, or say exactly why it is invalid.",
        discussion: """
            Reads one frame (a UDP datagram, or a stream frame without its 4-byte length \
            prefix) from FILE or standard input, raw or base64. With --keyring the HMAC \
            is verified and encrypted frames are decrypted; without it the signature is \
            reported as "not checked". An invalid frame prints the reason (truncated, \
            too_large, bad_version, unknown_key, bad_signature, decrypt_failed, \
            decompress_failed, unknown_type, decode_error) and exits with status 1.
            """)

    @Argument(help: "The frame file; - or nothing for standard input.")
    var file: String = "-"

    @Flag(help: "The input is base64 text.")
    var base64 = false

    @Option(help: "Keyring file (JSON array of base64 keys) to verify and decrypt with.")
    var keyring: String?

    @Option(help: "Largest size a compressed body may inflate to, in bytes.")
    var maxDecompressedBytes = 16 * 1024 * 1024

    func run() throws {
        var bytes: [UInt8]
        do {
            bytes = try FileIO.read(file)
        } catch {
            throw ValidationError("cannot read the frame: \(error)")
        }
        if base64 {
            let text = String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace }
            do {
                bytes = try Base64.decode(text)
            } catch {
                throw ValidationError("input is not base64: \(error)")
            }
        }
        var ring: Keyring
        if let keyring {
            do {
                ring = try Keyring(fileText: String(decoding: try FileIO.read(keyring), as: UTF8.self))
            } catch {
                throw ValidationError("cannot use keyring \(keyring): \(error)")
            }
        } else {
            // No key at hand: any key will do, since nothing is verified.
            ring = try Keyring(primary: [UInt8](repeating: 0, count: Keyring.keyByteCount))
        }
        var options = FrameCodec.Options()
        options.maxDecompressedBytes = maxDecompressedBytes
        let codec = FrameCodec(sender: NodeID(unchecked: "decoder"), keyring: ring, options: options, nowMillis: 0)
        do {
            let frame = try codec.inspect(bytes, verify: keyring != nil)
            print(frame.json(signatureChecked: keyring != nil).prettyText)
        } catch {
            printError("invalid frame: \(error.reason)\(error.detail.isEmpty ? "" : " (\(error.detail))")")
            throw ExitCode(1)
        }
    }
}
