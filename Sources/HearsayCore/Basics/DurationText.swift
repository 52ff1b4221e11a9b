extension Duration {
    /// Parses a duration such as `500ms`, `1s`, `1.5s`, `2m` or `1h` (units: ns, us, ms,
    /// s, m, h); a bare number means seconds.
    package init(parsing text: String, setting: String) throws(ValidationError) {
        let units: [(String, Double)] = [
            ("ns", 1e-9), ("us", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600),
        ]
        let trimmed = text.trimmingSpaces
        var number = Substring(trimmed)
        var scale = 1.0
        // Longest suffix first, so "ms" is not read as "m" after "s".
        for (suffix, factor) in units.sorted(by: { $0.0.count > $1.0.count }) where trimmed.hasSuffix(suffix) {
            number = trimmed.dropLast(suffix.count)
            scale = factor
            break
        }
        guard let value = Double(number), value.isFinite, value >= 0, value * scale < 9e9 else {
            throw ValidationError(
                setting: setting, value: text, allowed: "a duration such as 500ms, 1s, 2m or 1h")
        }
        self = .nanoseconds(Int64((value * scale * 1e9).rounded()))
    }

    /// The duration in the largest whole unit that states it exactly: `1h`, `30s`, `500ms`.
    package var text: String {
        let ns = nanoseconds
        for (suffix, unit) in [
            ("h", Int64(3600e9)), ("m", Int64(60e9)), ("s", Int64(1e9)), ("ms", Int64(1e6)), ("us", Int64(1e3)),
        ]
        where ns != 0 && ns % unit == 0 {
            return "\(ns / unit)\(suffix)"
        }
        return "\(ns)ns"
    }
}

extension String {
    /// The text without leading and trailing spaces (settings and header values).
    package var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
