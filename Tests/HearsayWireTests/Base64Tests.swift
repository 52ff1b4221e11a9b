import HearsayCore
import Testing

@testable import HearsayWire

@Suite struct Base64Tests {
    /// RFC 4648 section 10.
    private static let vectors = [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ]

    @Test func matchesRFC4648Vectors() throws {
        for (plain, encoded) in Self.vectors {
            #expect(Base64.encode(utf8(plain)) == encoded)
            #expect(try Base64.decode(encoded) == utf8(plain))
        }
    }

    @Test func usesTheStandardAlphabetEnds() throws {
        #expect(Base64.encode([0xfb, 0xff, 0xbf]) == "+/+/")
        #expect(try Base64.decode("+/+/") == [0xfb, 0xff, 0xbf])
    }

    @Test func roundTripsRandomBytes() throws {
        var generator = SeededGenerator(seed: 64)
        for count in 0..<100 {
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let text = Base64.encode(bytes)
            #expect(text.utf8.count == (count + 2) / 3 * 4)
            #expect(try Base64.decode(text) == bytes)
        }
    }

    @Test func refusesMalformedText() {
        #expect(throws: Base64.DecodingError.badLength(3)) { try Base64.decode("Zm9") }
        #expect(throws: Base64.DecodingError.badLength(5)) { try Base64.decode("Zm9vY") }
        #expect(throws: Base64.DecodingError.badCharacter(offset: 2)) { try Base64.decode("Zm-v") }
        #expect(throws: Base64.DecodingError.badCharacter(offset: 2)) { try Base64.decode("Zm 9") }
        #expect(throws: Base64.DecodingError.badCharacter(offset: 1)) { try Base64.decode("Z===") }
        #expect(throws: Base64.DecodingError.badCharacter(offset: 3)) { try Base64.decode("Zg=a") }
        // Padding belongs only at the very end.
        #expect(throws: Base64.DecodingError.badCharacter(offset: 2)) { try Base64.decode("Zg==Zm9v") }
        // "Zh==" decodes to "f" too, but with stray bits no encoder would write.
        #expect(throws: Base64.DecodingError.nonZeroPaddingBits) { try Base64.decode("Zh==") }
        #expect(throws: Base64.DecodingError.nonZeroPaddingBits) { try Base64.decode("Zm9=") }
        #expect(throws: Base64.DecodingError.badCharacter(offset: 0)) { try Base64.decode("\u{e9}AA") }
    }
}
