import Testing

@testable import HearsayWire

@Suite struct WireErrorTests {
    @Test func reasonsAreTheMetricLabels() {
        let labels: [(WireError, String)] = [
            (.truncated(), "truncated"), (.tooLarge(), "too_large"), (.badVersion(), "bad_version"),
            (.unknownKey(), "unknown_key"), (.badSignature(), "bad_signature"), (.decryptFailed(), "decrypt_failed"),
            (.decompressFailed(), "decompress_failed"), (.replay(), "replay"), (.unknownType(), "unknown_type"),
            (.decodeError(), "decode_error"),
        ]
        for (error, label) in labels {
            #expect(error.reason == label)
        }
        #expect(Set(labels.map(\.1)).count == labels.count)
    }

    @Test func detailIsKeptOutOfTheReason() {
        let error = WireError.truncated("header needs 12 bytes, got 7")
        #expect(error.reason == "truncated")
        #expect(error.detail == "header needs 12 bytes, got 7")
        #expect(error.description == "truncated: header needs 12 bytes, got 7")
        #expect(WireError.replay().description == "replay")
        #expect(error != .truncated())
    }
}
