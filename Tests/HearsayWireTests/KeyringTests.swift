import Testing

@testable import HearsayWire

private let keyA = [UInt8](repeating: 0xa1, count: 32)
private let keyB = [UInt8](repeating: 0xb2, count: 32)
private let keyC = [UInt8](repeating: 0xc3, count: 32)

@Suite struct KeyringTests {
    @Test func primaryKeySignsAndEveryInstalledKeyIsFound() throws {
        let ring = try Keyring(primary: keyA, others: [keyB])
        #expect(ring.primaryKey == keyA)
        #expect(ring.primaryKeyID == KeyID(of: keyA))
        #expect(ring.keys == [keyA, keyB])
        #expect(ring.keyIDs == [KeyID(of: keyA), KeyID(of: keyB)])
        #expect(ring.key(for: KeyID(of: keyB)) == keyB)
        #expect(ring.key(for: KeyID(of: keyC)) == nil)
    }

    @Test func rotationInstallsUsesAndRemoves() throws {
        var ring = try Keyring(primary: keyA)
        try ring.install(keyB)
        #expect(ring.primaryKey == keyA)
        #expect(ring.key(for: KeyID(of: keyB)) == keyB)
        try ring.install(keyB)  // idempotent
        #expect(ring.keys.count == 2)

        try ring.use(keyB)
        #expect(ring.primaryKey == keyB)
        #expect(ring.key(for: KeyID(of: keyA)) == keyA)

        try ring.remove(keyA)
        #expect(ring.keys == [keyB])
        #expect(ring.key(for: KeyID(of: keyA)) == nil)
    }

    @Test func refusedOperationsLeaveTheRingUnchanged() throws {
        var ring = try Keyring(primary: keyA, others: [keyB])
        let before = ring
        #expect(throws: KeyringError.notInstalled(KeyID(of: keyC))) { try ring.use(keyC) }
        #expect(throws: KeyringError.notInstalled(KeyID(of: keyC))) { try ring.remove(keyC) }
        #expect(throws: KeyringError.cannotRemovePrimary(KeyID(of: keyA))) { try ring.remove(keyA) }
        #expect(throws: KeyringError.wrongKeyLength(length: 16, index: nil)) {
            try ring.install(Array(keyC.prefix(16)))
        }
        #expect(ring == before)
        #expect(throws: KeyringError.wrongKeyLength(length: 31, index: nil)) {
            try Keyring(primary: Array(keyA.dropLast()))
        }
    }

    @Test func fileRoundTripsWithPrimaryFirst() throws {
        var ring = try Keyring(primary: keyA, others: [keyB, keyC])
        try ring.use(keyC)
        let text = ring.fileText
        let read = try Keyring(fileText: text)
        #expect(read == ring)
        #expect(read.primaryKey == keyC)
        #expect(text.hasPrefix("[\n  \"\(Base64.encode(keyC))\""))
    }

    @Test func readsSerfStyleFiles() throws {
        let a = Base64.encode(keyA)
        let b = Base64.encode(keyB)
        let ring = try Keyring(fileText: "[\"\(a)\",\"\(b)\"]")
        #expect(ring.keys == [keyA, keyB])
        let spaced = try Keyring(fileText: " \r\n[ \"\(b)\" ,\n\t\"\(a)\" ]\n")
        #expect(spaced.keys == [keyB, keyA])
        // JSON may escape '/', which base64 uses.
        let slashText = String(repeating: "/", count: 42) + "8="
        let escapedText = String(repeating: "\\/", count: 42) + "8="
        let escaped = try Keyring(fileText: "[\"\(escapedText)\"]")
        #expect(escaped.primaryKey == (try Base64.decode(slashText)))
        #expect(escaped.primaryKey.count == 32)
        #expect(try Keyring(fileText: "[\"\\u006f\(a.dropFirst())\"]").primaryKey == keyA)
    }

    @Test func fileErrorsNameTheProblem() {
        let a = Base64.encode(keyA)
        let short = Base64.encode(Array(keyA.prefix(16)))
        #expect(throws: KeyringError.empty) { try Keyring(fileText: "[]") }
        #expect(throws: KeyringError.empty) { try Keyring(fileText: " [ ] ") }
        #expect(throws: KeyringError.wrongKeyLength(length: 16, index: 1)) {
            try Keyring(fileText: "[\"\(a)\", \"\(short)\"]")
        }
        #expect(throws: KeyringError.badBase64(index: 1, problem: .badCharacter(offset: 4))) {
            try Keyring(fileText: "[\"\(a)\", \"AAAA*AAA\"]")
        }
        #expect(throws: KeyringError.badBase64(index: 0, problem: .badLength(3))) { try Keyring(fileText: "[\"abc\"]") }
        let b = Base64.encode(keyB)
        #expect(throws: KeyringError.duplicateKey(index: 2, first: 0)) {
            try Keyring(fileText: "[\"\(a)\", \"\(b)\", \"\(a)\"]")
        }
    }

    @Test(arguments: [
        "", "{}", "\"abc\"", "[", "[\"", "[\"abc\"", "[\"abc\",]", "[,]", "[\"abc\" \"def\"]", "[1]", "[null]",
        "[\"abc\"] x", "[\"abc\"][]", "[\"a\\qb\"]", "[\"a\\u12\"]", "[\"a\nb\"]",
    ])
    func malformedFilesAreRefused(text: String) {
        do {
            _ = try Keyring(fileText: text)
            Issue.record("accepted \(text.debugDescription)")
        } catch {
            guard case .malformedFile = error else {
                Issue.record("expected malformedFile for \(text.debugDescription), got \(error)")
                return
            }
        }
    }

    @Test func descriptionShowsIDsButNeverKeys() throws {
        let ring = try Keyring(primary: keyA, others: [keyB])
        #expect(ring.description == "Keyring(primary: \(KeyID(of: keyA)), accepted: [\(KeyID(of: keyB))])")
        #expect(!ring.description.contains(Base64.encode(keyA)))
        let error = KeyringError.wrongKeyLength(length: 16, index: 2)
        #expect(error.description == "key 2 is 16 bytes, expected 32")
    }

    @Test func generatedKeysAreFreshAndUsable() throws {
        let first = Keyring.generateKey()
        let second = Keyring.generateKey()
        #expect(first.count == 32 && second.count == 32)
        #expect(first != second)
        let text = Keyring.generateKeyText()
        #expect(try Base64.decode(text).count == 32)
        #expect(try Keyring(fileText: "[\"\(text)\"]").primaryKey == Base64.decode(text))
    }
}
