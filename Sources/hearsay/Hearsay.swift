import ArgumentParser
import HearsayNode

@main
struct Hearsay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hearsay",
        abstract: "A gossip node that keeps cluster metadata in sync and finds failed peers.",
        version: BuildInfo.version,
        subcommands: [SimulateCommand.self, DecodeCommand.self, KeygenCommand.self]
    )
}
