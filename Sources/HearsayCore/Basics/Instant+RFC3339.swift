extension Instant {
    /// The instant as RFC 3339 text in UTC with milliseconds, e.g.
    /// `2026-11-25T22:04:05.123Z` (the `ts` of JSON logs, the Go original's timestamps).
    public var rfc3339: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        writeRFC3339(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `rfc3339`'s bytes to `out`. Digits are written in place: the API stamps
    /// every version it answers with, and building the text from padded `String`s cost
    /// a write's answer a quarter of its rendering.
    package func writeRFC3339(to out: inout [UInt8]) {
        let ms = nanoseconds >= 0 ? nanoseconds / 1_000_000 : (nanoseconds - 999_999) / 1_000_000
        var days = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
        let msOfDay = ms - days * 86_400_000
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func digits(_ v: Int64, _ width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            if v >= 0 && v < divisor * 10 {
                while divisor > 0 {
                    out.append(UInt8(ascii: "0") + UInt8(v / divisor % 10))
                    divisor /= 10
                }
                return
            }
            // Wider (a year past 9999) or negative: all its digits, sign and all,
            // zero-padded in front to the width, as the text has always been spelled.
            let text = Array(String(v).utf8)
            if text.count < width {
                out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - text.count))
            }
            out.append(contentsOf: text)
        }
        digits(year, 4)
        out.append(UInt8(ascii: "-"))
        digits(month, 2)
        out.append(UInt8(ascii: "-"))
        digits(day, 2)
        out.append(UInt8(ascii: "T"))
        digits(msOfDay / 3_600_000, 2)
        out.append(UInt8(ascii: ":"))
        digits(msOfDay / 60_000 % 60, 2)
        out.append(UInt8(ascii: ":"))
        digits(msOfDay / 1000 % 60, 2)
        out.append(UInt8(ascii: "."))
        digits(msOfDay % 1000, 3)
        out.append(UInt8(ascii: "Z"))
    }
}
