extension JSONValue {
    /// Whether `a` comes before `b` in the order of their UTF-8 bytes: the order of an
    /// object's keys in canonical and pretty text.
    ///
    /// Compared on the strings' buffers where they have them (native strings do): the
    /// generic comparison of two `String.UTF8View`s walks an index at a time, and
    /// sorting the keys of each value was a good part of spelling it.
    package static func precedes(_ a: String, _ b: String) -> Bool {
        let fast = a.utf8.withContiguousStorageIfAvailable { left in
            b.utf8.withContiguousStorageIfAvailable { right in
                let shared = min(left.count, right.count)
                for index in 0..<shared where left[index] != right[index] { return left[index] < right[index] }
                return left.count < right.count
            }
        }
        return (fast ?? nil) ?? a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// An object's members in key order (`precedes`).
    package static func ordered(_ members: [String: JSONValue]) -> [(key: String, value: JSONValue)] {
        members.sorted { precedes($0.key, $1.key) }
    }
}
