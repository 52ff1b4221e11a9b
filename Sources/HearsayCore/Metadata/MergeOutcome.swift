/// What merging one version into the store did.
public enum MergeOutcome: Equatable, Sendable {
    /// The store already held it or something that has seen it; nothing changed.
    case stale
    /// It replaced what the store held (or was new): the entry has one version.
    case applied
    /// It is concurrent with what the store held: the entry now keeps `siblings`
    /// versions and is conflicted. `isNew` when the entry was not conflicted before.
    case conflict(siblings: Int, isNew: Bool)
    /// It broke a rule and was not stored.
    case rejected(MetadataError)
}
