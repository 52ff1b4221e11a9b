import Foundation
import HearsayNode
import Testing

@Suite struct SettingFlagsTests {
    @Test func settingsInEitherFormAreReadAndListsRepeat() throws {
        let given = try #require(
            SettingFlags.parse([
                "--name", "a", "--join", "10.0.0.1", "--join=10.0.0.2:7946", "--probe-interval=1s",
                "--config", "/etc/hearsay.json", "--api-token=x=y",
            ]))
        #expect(given.config == "/etc/hearsay.json")
        #expect(
            given.flags == [
                "name": ["a"], "join": ["10.0.0.1", "10.0.0.2:7946"], "probe-interval": ["1s"], "api-token": ["x=y"],
            ])
        #expect(SettingFlags.parse([])?.flags == [:])
    }

    @Test(arguments: [
        ["--help"], ["-h"], ["--unknown", "v"], ["--name"], ["--name", "--bind", "x"], ["--name", "-x"],
        ["--name", "a", "--name", "b"], ["--config", "a", "--config=b"], ["--", "--name", "a"], ["name", "a"],
    ])
    func anythingButSettingsIsLeftToTheFullParser(arguments: [String]) {
        #expect(SettingFlags.parse(arguments) == nil)
    }

    /// The settings read without ArgumentParser must be exactly its agent options, or a
    /// flag would work in one path and be refused in the other.
    @Test func everySettingIsAnAgentOptionOfTheFullParser() throws {
        let text = try ProgramRun(HearsayBinary.path, ["agent", "--help"]).output
        // Every `--word` of the help, its punctuation trimmed.
        let options = Set(
            text.split(whereSeparator: { $0 == " " || $0 == "\n" }).filter { $0.hasPrefix("--") }.map {
                String($0.dropFirst(2).prefix(while: { $0.isLetter || $0 == "-" }))
            })
        let settings = Set(NodeSettings.definitions.map(\.name) + ["config"])
        #expect(settings.subtracting(options).isEmpty, "not agent options: \(settings.subtracting(options))")
        #expect(
            options.subtracting(settings.union(["help", "version"])).isEmpty,
            "not settings: \(options.subtracting(settings))")
    }

    @Test func aBadValueReadWithoutTheFullParserExitsTwoNamingTheSetting() throws {
        let run = try ProgramRun(
            HearsayBinary.path,
            ["agent", "--probe-interval", "5 parsecs", "--key", String(repeating: "A", count: 43) + "="])
        #expect(run.status == 2, "\(run.output)")
        #expect(run.output.contains("probe-interval"), "\(run.output)")
    }
}
