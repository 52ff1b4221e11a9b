import Testing

/// `hearsay simulate` replays a run from its random seed alone, in any process: two runs
/// in one process (as `SimulationTests` makes them) would share the process's seed for
/// hashing, so an order taken from a `Set` or a `Dictionary` could not show there.
@Suite struct SimulateCommandTests {
    @Test func theSameSeedReplaysTheSameRunInAnotherProcess() throws {
        let arguments = ["simulate", "--nodes", "40", "--loss", "0.1", "--seed", "7"]
        let first = try ProgramRun(Unprivileged.hearsayBinary, arguments)
        let second = try ProgramRun(Unprivileged.hearsayBinary, arguments)
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains("failure declarations"), "\(first.output)")
        #expect(first.output == second.output)
        let other = try ProgramRun(
            Unprivileged.hearsayBinary, ["simulate", "--nodes", "40", "--loss", "0.1", "--seed", "8"])
        #expect(other.output != first.output, "another seed ran the same run")
    }
}
