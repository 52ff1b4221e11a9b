import Testing

@testable import HearsayCore

/// The wall clock set an hour back or forward changes the stamps people read and
/// nothing else: timers, suspicion and reaping run on protocol time.
@Suite struct ClockStepTests {
    private func cluster(_ nodes: Int, _ tune: @escaping @Sendable (inout EngineConfig) -> Void = { _ in })
        throws -> Simulation
    {
        var config = SimulationConfig()
        config.nodes = nodes
        config.seed = 99
        config.preloadMembership = true
        config.tune = tune
        let sim = try Simulation(config)
        try sim.start()
        sim.run(for: .seconds(5))
        return sim
    }

    @Test(arguments: [-3600, 3600])
    func aKilledPeerIsDeclaredFailedWhileTheWallClockSteps(seconds: Int64) throws {
        let sim = try cluster(2)
        sim.stepWallClock(0, by: .seconds(seconds))
        sim.kill(1)
        let detected = sim.run(
            until: { $0.engines[0].members[T.id(1)]?.status == .failed }, step: .milliseconds(100),
            limit: .seconds(60))
        #expect(detected != nil, "the peer stayed \(sim.engines[0].members[T.id(1)]?.status.rawValue ?? "?")")
        // Failure detection took what it takes without a step: suspicion ran its course.
        #expect((detected ?? .zero) >= .seconds(2))
    }

    @Test func stampsFollowTheWallClockAndTimesShownAreOnIt() throws {
        let sim = try cluster(2)
        sim.stepWallClock(0, by: .seconds(-3600))
        let version = try sim.put(0, T.address("k"), .string("v"))
        let wall = sim.engines[0].wallClock(at: sim.now)
        #expect(version.lastUpdated.milliseconds == wall.milliseconds)
        #expect(sim.now - version.lastUpdated >= .seconds(3599))
        let stats = sim.engines[0].statistics(now: sim.now)
        #expect(stats.lastUpdated == wall)
        sim.run(for: .seconds(1))
        // The peer, whose clock did not step, took the version as written.
        #expect(sim.engines[1].store.entry(T.address("k"))?.versions == [version])
    }

    @Test func aWallClockSetForwardDoesNotPurgeTombstonesEarly() throws {
        let sim = try cluster(2) {
            $0.tombstoneGrace = .seconds(600)
            $0.reapInterval = .seconds(10)
        }
        let address = T.address("gone")
        try sim.put(0, address, .string("v"))
        sim.run(for: .seconds(1))
        try sim.delete(0, address)
        sim.stepWallClock(0, by: .seconds(7200))
        sim.stepWallClock(1, by: .seconds(7200))
        sim.run(for: .seconds(300))
        #expect(sim.engines[0].store.entry(address)?.status == .deleted)
        sim.run(for: .seconds(400))
        #expect(sim.engines[0].store.entry(address) == nil, "the tombstone outlived its grace")
    }

    @Test func aWallClockSetForwardDoesNotForgetFailedMembersEarly() throws {
        let sim = try cluster(3) {
            $0.tombstoneGrace = .seconds(600)
            $0.reapInterval = .seconds(10)
        }
        sim.kill(2)
        let failed = sim.run(
            until: { $0.engines[0].members[T.id(2)]?.status == .failed }, step: .seconds(1), limit: .seconds(120))
        #expect(failed != nil)
        sim.stepWallClock(0, by: .seconds(7200))
        sim.run(for: .seconds(300))
        #expect(sim.engines[0].members[T.id(2)]?.status == .failed)
        sim.run(for: .seconds(400))
        #expect(sim.engines[0].members[T.id(2)] == nil, "the failed member outlived its grace")
    }
}
