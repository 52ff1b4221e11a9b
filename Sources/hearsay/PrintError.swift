#if canImport(Glibc)
    import Glibc
#endif

/// Writes a line to standard error.
func printError(_ text: String) {
    #if canImport(Glibc)
        let line = Array((text + "\n").utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    #else
        print(text)
    #endif
}
