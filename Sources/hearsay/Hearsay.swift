import ArgumentParser
import HearsayNode

struct Hearsay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hearsay",
        abstract: "A gossip node that keeps cluster metadata in sync and finds failed peers.",
        version: BuildInfo.version,
        subcommands: [
            AgentCommand.self, MembersCommand.self, GetCommand.self, PutCommand.self, DeleteCommand.self,
            ListCommand.self, JoinCommand.self, LeaveCommand.self, KeysCommand.self, TagsCommand.self,
            HealthCommand.self,
            WatchCommand.self,
            DemoCommand.self, KeygenCommand.self, DecodeCommand.self, SimulateCommand.self,
        ]
    )
}
