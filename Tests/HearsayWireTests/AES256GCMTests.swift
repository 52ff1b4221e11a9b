import Testing

@testable import HearsayWire

/// Test cases 13-16 of McGrew and Viega, "The Galois/Counter Mode of Operation (GCM)",
/// the ones with 256-bit keys (also in NIST's GCM validation vectors).
private let gcmVectors:
    [(name: String, key: String, nonce: String, plaintext: String, aad: String, ciphertext: String, tag: String)] = [
        (
            "13", String(repeating: "00", count: 32), String(repeating: "00", count: 12), "", "", "",
            "530f8afbc74536b9a963b4f1c4cb738b"
        ),
        (
            "14", String(repeating: "00", count: 32), String(repeating: "00", count: 12),
            String(repeating: "00", count: 16),
            "", "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"
        ),
        (
            "15", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
            "",
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
            "b094dac5d93471bdec1a502270e3cc6c"
        ),
        (
            "16", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
            "feedfacedeadbeeffeedfacedeadbeefabaddad2",
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
            "76fc6ece0f4e1768cddf8853bb2d551b"
        ),
    ]

@Suite struct AES256GCMTests {
    @Test(arguments: gcmVectors.indices)
    func sealMatchesKnownAnswers(index: Int) {
        let vector = gcmVectors[index]
        let sealed = AES256GCM.seal(
            hex(vector.plaintext), key: hex(vector.key), nonce: hex(vector.nonce), aad: hex(vector.aad))
        #expect(hexText(sealed) == vector.ciphertext + vector.tag, "case \(vector.name)")
    }

    @Test(arguments: gcmVectors.indices)
    func openMatchesKnownAnswers(index: Int) throws {
        let vector = gcmVectors[index]
        let plaintext = try AES256GCM.open(
            hex(vector.ciphertext + vector.tag), key: hex(vector.key), nonce: hex(vector.nonce), aad: hex(vector.aad))
        #expect(hexText(plaintext) == vector.plaintext, "case \(vector.name)")
    }

    @Test func tamperingWithAnyPartFailsToOpen() throws {
        let vector = gcmVectors[3]
        let key = hex(vector.key)
        let nonce = hex(vector.nonce)
        let aad = hex(vector.aad)
        let sealed = hex(vector.ciphertext + vector.tag)
        #expect(try AES256GCM.open(sealed, key: key, nonce: nonce, aad: aad) == hex(vector.plaintext))

        for index in [0, 30, 59, 60, 75] {  // ciphertext start, middle, end; tag start, end
            var changed = sealed
            changed[index] ^= 0x01
            #expect(throws: WireError.decryptFailed("authentication tag mismatch")) {
                try AES256GCM.open(changed, key: key, nonce: nonce, aad: aad)
            }
        }
        var changedAAD = aad
        changedAAD[0] ^= 0x01
        #expect(throws: WireError.self) { try AES256GCM.open(sealed, key: key, nonce: nonce, aad: changedAAD) }
        #expect(throws: WireError.self) { try AES256GCM.open(sealed, key: key, nonce: nonce, aad: []) }
        var changedNonce = nonce
        changedNonce[11] ^= 0x01
        #expect(throws: WireError.self) { try AES256GCM.open(sealed, key: key, nonce: changedNonce, aad: aad) }
        var changedKey = key
        changedKey[31] ^= 0x01
        #expect(throws: WireError.self) { try AES256GCM.open(sealed, key: changedKey, nonce: nonce, aad: aad) }
        #expect(throws: WireError.self) {
            try AES256GCM.open(Array(sealed.dropLast()), key: key, nonce: nonce, aad: aad)
        }
    }

    @Test func malformedInputsAreRefusedNotTrapped() {
        let key = Keyring.generateKey()
        let nonce = SecureRandom.bytes(count: 12)
        #expect(throws: WireError.self) { try AES256GCM.open(SecureRandom.bytes(count: 15), key: key, nonce: nonce) }
        #expect(throws: WireError.self) { try AES256GCM.open(SecureRandom.bytes(count: 40), key: key, nonce: [1, 2]) }
        #expect(throws: WireError.self) {
            try AES256GCM.open(SecureRandom.bytes(count: 40), key: Array(key.prefix(16)), nonce: nonce)
        }
        // A tag alone (empty plaintext) that was not produced by the key is refused too.
        #expect(throws: WireError.self) { try AES256GCM.open(SecureRandom.bytes(count: 16), key: key, nonce: nonce) }
    }

    @Test func randomNonceRoundTripsAndDiffersPerSeal() throws {
        let key = Keyring.generateKey()
        let plaintext = utf8("gossip about gossip")
        let aad = utf8("header")
        let first = AES256GCM.seal(plaintext, key: key, aad: aad)
        let second = AES256GCM.seal(plaintext, key: key, aad: aad)
        #expect(first.nonce.count == 12 && first.sealed.count == plaintext.count + 16)
        #expect(first.nonce != second.nonce)
        #expect(first.sealed != second.sealed)
        #expect(try AES256GCM.open(first.sealed, key: key, nonce: first.nonce, aad: aad) == plaintext)
        #expect(try AES256GCM.open(second.sealed, key: key, nonce: second.nonce, aad: aad) == plaintext)
    }
}
