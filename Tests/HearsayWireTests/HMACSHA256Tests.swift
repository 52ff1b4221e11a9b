import Testing

@testable import HearsayWire

/// The RFC 4231 section 4 test cases for HMAC-SHA-256.
private let rfc4231: [(name: String, key: [UInt8], data: [UInt8], tag: String)] = [
    (
        "1", [UInt8](repeating: 0x0b, count: 20), utf8("Hi There"),
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    ),
    (
        "2", utf8("Jefe"), utf8("what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    ),
    (
        "3", [UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
    ),
    (
        "4", hex("0102030405060708090a0b0c0d0e0f10111213141516171819"), [UInt8](repeating: 0xcd, count: 50),
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
    ),
    // Case 5 publishes only the first 128 bits of the tag.
    ("5", [UInt8](repeating: 0x0c, count: 20), utf8("Test With Truncation"), "a3b6167473100ee06e0c796c2955552b"),
    (
        "6", [UInt8](repeating: 0xaa, count: 131), utf8("Test Using Larger Than Block-Size Key - Hash Key First"),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    ),
    (
        "7", [UInt8](repeating: 0xaa, count: 131),
        utf8(
            "This is a test using a larger than block-size key and a larger than block-size data."
                + " The key needs to be hashed before being used by the HMAC algorithm."),
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
    ),
]

@Suite struct HMACSHA256Tests {
    @Test(arguments: rfc4231.indices)
    func oneShotMatchesRFC4231(index: Int) {
        let vector = rfc4231[index]
        let tag = HMACSHA256.authenticate(vector.data, key: vector.key)
        #expect(tag.count == 32)
        #expect(hexText(Array(tag.prefix(vector.tag.count / 2))) == vector.tag, "case \(vector.name)")
    }

    @Test(arguments: rfc4231.indices)
    func preparedKeyMatchesRFC4231(index: Int) {
        let vector = rfc4231[index]
        let key = HMACKey(vector.key)
        // Twice, so a context that is not reset between messages would show.
        for _ in 0..<2 {
            let tag = key.authenticate(vector.data)
            #expect(hexText(Array(tag.prefix(vector.tag.count / 2))) == vector.tag, "case \(vector.name)")
        }
    }

    @Test func headerAndBodyTagEqualsTagOfConcatenation() {
        let key = HMACKey(utf8("Jefe"))
        let message = utf8("what do ya want for nothing?")
        for split in 0...message.count {
            let header = Array(message[..<split])
            let body = Array(message[split...])
            let tag = header.withUnsafeBytes { h in body.withUnsafeBytes { b in key.authenticate(h, b) } }
            #expect(hexText(tag) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
            let valid = header.withUnsafeBytes { h in
                body.withUnsafeBytes { b in tag.withUnsafeBytes { key.isValid(tag: $0, for: h, b) } }
            }
            #expect(valid)
        }
    }

    @Test func emptyKeyAndMessageWork() {
        // HMAC-SHA256 with empty key and message, as Python's hmac module computes it.
        let expected = "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"
        #expect(hexText(HMACSHA256.authenticate([UInt8](), key: [])) == expected)
        #expect(hexText(HMACKey([]).authenticate([])) == expected)
    }

    @Test func collectionsAndSlicesAgreeWithArrays() {
        let key = [UInt8](repeating: 0x0b, count: 20)
        let padded = utf8("xxHi Therexx")
        let slice = padded[2..<10]
        #expect(
            hexText(HMACSHA256.authenticate(slice, key: key))
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        // A collection without contiguous storage takes the copying path.
        #expect(
            HMACSHA256.authenticate(utf8("Hi There").lazy.map { $0 }, key: key)
                == HMACSHA256.authenticate(utf8("Hi There"), key: key))
    }

    @Test func verificationRejectsAnyChangedByte() {
        let key = HMACKey(SecureRandom.bytes(count: 32))
        let message = SecureRandom.bytes(count: 512)
        let tag = key.authenticate(message)
        #expect(key.isValid(tag: tag, for: message))
        for index in [0, 100, 511] {
            var changed = message
            changed[index] ^= 0x01
            #expect(!key.isValid(tag: tag, for: changed))
        }
        for index in [0, 15, 31] {
            var changed = tag
            changed[index] ^= 0x80
            #expect(!key.isValid(tag: changed, for: message))
        }
        #expect(!key.isValid(tag: Array(tag.prefix(16)), for: message))
        #expect(!HMACKey(SecureRandom.bytes(count: 32)).isValid(tag: tag, for: message))
    }

    @Test func preparedKeyAgreesWithLibcryptoHMACAtEveryKeyAndMessageLength() {
        // Key lengths around the 64-byte block (shorter keys are padded, longer ones hashed)
        // and message lengths around block and padding boundaries.
        var generator = SystemRandomNumberGenerator()
        for keyLength in [0, 1, 31, 32, 55, 63, 64, 65, 127, 128, 200] {
            let keyBytes = (0..<keyLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let key = HMACKey(keyBytes)
            for messageLength in [0, 1, 55, 56, 63, 64, 65, 119, 120, 512, 1400] {
                let message = (0..<messageLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let reference = message.withUnsafeBytes { HMACSHA256.libcryptoTag($0, key: keyBytes) }
                #expect(key.authenticate(message) == reference, "key \(keyLength) B, message \(messageLength) B")
            }
        }
    }

    @Test func oneKeyServesManyThreadsAtOnce() async {
        let key = HMACKey(utf8("Jefe"))
        let message = utf8("what do ya want for nothing?")
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        let tags = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<4 {
                group.addTask { (0..<2_000).map { _ in hexText(key.authenticate(message)) } }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        #expect(tags.count == 8_000 && tags.allSatisfy { $0 == expected })
    }

    @Test func constantTimeEqualsComparesContentAndLength() {
        #expect(HMACSHA256.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!HMACSHA256.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!HMACSHA256.constantTimeEquals([9, 2, 3], [1, 2, 3]))
        #expect(!HMACSHA256.constantTimeEquals([1, 2, 3], [1, 2]))
        #expect(HMACSHA256.constantTimeEquals([], []))
        #expect(!HMACSHA256.constantTimeEquals([], [0]))
    }

    @Test func keyIDIsTheDigestPrefix() {
        // SHA-256("abc") from FIPS 180-2 appendix B.1.
        #expect(hexText(SHA256.hash(utf8("abc"))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let id = KeyID(of: utf8("abc"))
        #expect(id.rawValue == 0xba78_16bf)
        #expect(id.bytes == [0xba, 0x78, 0x16, 0xbf])
        #expect(id.description == "ba7816bf")
        #expect(KeyID(rawValue: 0x0000_00ff).description == "000000ff")
        #expect(HMACKey(utf8("abc")).id == id)
    }
}
