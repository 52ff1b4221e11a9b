/// Base64 with the standard alphabet and padding (RFC 4648 section 4), for keyring files
/// and printing keys.
package enum Base64 {
    /// Why text is not canonical padded base64.
    package enum DecodingError: Error, Equatable, Sendable, CustomStringConvertible {
        /// The length is not a multiple of four.
        case badLength(Int)
        /// A byte outside the alphabet, or padding before the end, at this offset.
        case badCharacter(offset: Int)
        /// The unused low bits of the last group are not zero, so no encoder wrote this text.
        case nonZeroPaddingBits

        package var description: String {
            switch self {
            case .badLength(let length): "length \(length) is not a multiple of 4"
            case .badCharacter(let offset): "invalid character at offset \(offset)"
            case .nonZeroPaddingBits: "non-zero bits in the final padding"
            }
        }
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// `bytes` as padded base64 text.
    package static func encode(_ bytes: [UInt8]) -> String {
        var text: [UInt8] = []
        text.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let remaining = bytes.count - index
            let first = UInt32(bytes[index])
            let second = remaining > 1 ? UInt32(bytes[index + 1]) : 0
            let third = remaining > 2 ? UInt32(bytes[index + 2]) : 0
            let group = first << 16 | second << 8 | third
            text.append(alphabet[Int(group >> 18 & 63)])
            text.append(alphabet[Int(group >> 12 & 63)])
            text.append(remaining > 1 ? alphabet[Int(group >> 6 & 63)] : UInt8(ascii: "="))
            text.append(remaining > 2 ? alphabet[Int(group & 63)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The bytes encoded by `text`, which must be canonical padded base64 without whitespace:
    /// keys are secrets, so an ambiguous or damaged key is refused rather than guessed at.
    package static func decode(_ text: String) throws(DecodingError) -> [UInt8] {
        let input = Array(text.utf8)
        guard input.count % 4 == 0 else { throw .badLength(input.count) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(input.count / 4 * 3)
        var groupStart = 0
        while groupStart < input.count {
            let isLast = groupStart + 4 == input.count
            var group: UInt32 = 0
            var padding = 0
            for offset in groupStart..<groupStart + 4 {
                let character = input[offset]
                if character == UInt8(ascii: "=") {
                    // Padding may fill only the last one or two places of the last group.
                    guard isLast, offset - groupStart >= 2 else { throw .badCharacter(offset: offset) }
                    padding += 1
                    group <<= 6
                    continue
                }
                guard padding == 0, let value = sextet(character) else { throw .badCharacter(offset: offset) }
                group = group << 6 | UInt32(value)
            }
            bytes.append(UInt8(truncatingIfNeeded: group >> 16))
            if padding < 2 { bytes.append(UInt8(truncatingIfNeeded: group >> 8)) }
            if padding < 1 { bytes.append(UInt8(truncatingIfNeeded: group)) }
            let unusedBits: UInt32 = padding == 2 ? 0xFFFF : padding == 1 ? 0xFF : 0
            guard group & unusedBits == 0 else { throw .nonZeroPaddingBits }
            groupStart += 4
        }
        return bytes
    }

    private static func sextet(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): character - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): character - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
