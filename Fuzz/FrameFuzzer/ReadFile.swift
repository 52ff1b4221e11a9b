#if canImport(Glibc)
    import Glibc
#endif

/// The bytes of the file at `path`, or nil when it cannot be read.
func readFile(_ path: String) -> [UInt8]? {
    #if canImport(Glibc)
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return bytes
    #else
        return nil
    #endif
}

/// Writes `bytes` to the file at `path`; false when it cannot.
func writeFile(_ path: String, _ bytes: [UInt8]) -> Bool {
    #if canImport(Glibc)
        guard let file = fopen(path, "wb") else { return false }
        defer { fclose(file) }
        return fwrite(bytes, 1, bytes.count, file) == bytes.count
    #else
        return false
    #endif
}
