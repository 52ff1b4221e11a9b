import HearsayCore
import NIOCore

/// A keyring operation on the whole cluster, waiting for its members' answers: who was
/// asked, who answered what, and who could not be asked.
struct KeyringRound {
    let operation: KeyringOperation
    /// The key's id (none for `list`).
    let key: String?
    /// Members asked and not answered yet, with their state when asked.
    var waiting: [NodeID: String] = [:]
    /// The answers, by member.
    var answers: [NodeID: KeyringResponse] = [:]
    /// Members not asked, and why (none has announced that it takes keyring requests).
    var skipped: [NodeID: String] = [:]
    /// This node's own part: its keys after the operation.
    var own: (name: NodeID, primary: String, keys: [String])
    /// Called once, with the round, when everyone answered or the wait ended.
    var finish: (KeyringRound) -> Void
    var timeout: Scheduled<Void>?

    /// How long a round waits for answers.
    static let wait: TimeAmount = .seconds(5)

    /// Members that did not do it: refusals, and members not asked or not answering.
    var refused: [NodeID: String] { answers.compactMapValues(\.refusal) }
    var missing: [NodeID: String] {
        waiting.mapValues { "did not answer (\($0))" }.merging(skipped) { $1 }
    }

    /// Whether every member known did it.
    var isComplete: Bool { refused.isEmpty && missing.isEmpty }

    /// The report the API answers: counts, who did not do it and why, and how many
    /// members hold each key afterwards.
    var json: JSONValue {
        var holding: [String: Int] = [:]
        var primaries: [String: Int] = [:]
        let held = [(own.primary, own.keys)] + answers.values.map { ($0.primary, $0.keys) }
        for (primary, keys) in held {
            primaries[primary, default: 0] += 1
            for key in keys { holding[key, default: 0] += 1 }
        }
        func names(_ map: [NodeID: String]) -> JSONValue {
            .object(Dictionary(uniqueKeysWithValues: map.map { ($0.key.rawValue, JSONValue.string($0.value)) }))
        }
        var fields: [String: JSONValue] = [
            "operation": .string(operation.name), "complete": .bool(isComplete),
            "members": .number(Double(1 + answers.count + waiting.count + skipped.count)),
            "answered": .number(Double(1 + answers.count)), "refused": names(refused), "not_answered": names(missing),
            "keys": .object(holding.mapValues { .number(Double($0)) }),
            "primary": .object(primaries.mapValues { .number(Double($0)) }),
        ]
        if let key { fields["key"] = .string(key) }
        return .object(fields)
    }
}
