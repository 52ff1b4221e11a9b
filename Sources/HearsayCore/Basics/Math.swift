// The C math library is pure computation (no I/O, no state), so the core may use it;
// it is the only platform module the core imports.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Pure math helpers the protocol's formulas need.
enum Math {
    static func log10(_ x: Double) -> Double { cLog10(x) }

    static func ln(_ x: Double) -> Double { cLog(x) }

    /// ceil(log_base(x)) for x >= 1, base >= 2, computed exactly on integers so that
    /// powers of the base do not round up.
    static func ceilLog(_ x: Int, base: Int) -> Int {
        precondition(base >= 2)
        var power = 1
        var n = 0
        while power < x {
            power = power.multipliedReportingOverflow(by: base).overflow ? Int.max : power * base
            n += 1
        }
        return n
    }
}

// Free functions, so that the names resolve to the C library and not to `Math`'s own.
private func cLog10(_ x: Double) -> Double { log10(x) }
private func cLog(_ x: Double) -> Double { log(x) }
