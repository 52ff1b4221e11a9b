/// A rejected setting or input, naming what was wrong and what is allowed.
public struct ValidationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The setting or field that was rejected.
    public let setting: String
    /// The value that was given, as text.
    public let value: String
    /// What would have been accepted.
    public let allowed: String

    /// Creates an error for `setting` with the rejected `value` and the `allowed` range.
    public init(setting: String, value: String, allowed: String) {
        self.setting = setting
        self.value = value
        self.allowed = allowed
    }

    public var description: String {
        "invalid \(setting) '\(value)': allowed \(allowed)"
    }
}
