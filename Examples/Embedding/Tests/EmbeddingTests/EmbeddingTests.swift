import HearsayCore
import Testing

/// The `HearsayCore` library as a user embeds it, through its public API alone (no
/// `@testable`): a host that runs engines, carries their messages and fires their timers.
/// If the public surface loses something a host needs, this stops compiling.
@Suite struct EmbeddingTests {
    /// A host for a few engines: messages are delivered at once, timers in time order.
    struct Host {
        var engines: [PeerAddress: Engine] = [:]
        var timers: [(at: Instant, address: PeerAddress, timer: Timer)] = []
        var stored: [PeerAddress: [ContextMetadata]] = [:]
        var now: Instant

        mutating func perform(_ effects: [Effect], at address: PeerAddress) {
            var pending = [(address, effects)]
            while let (from, effects) = pending.popLast() {
                for effect in effects {
                    switch effect {
                    case .send(let outbound):
                        guard var engine = engines[outbound.to] else { continue }
                        let answer = engine.receive(
                            outbound.messages, from: from, transport: outbound.transport, now: now)
                        engines[outbound.to] = engine
                        pending.append((outbound.to, answer))
                    case .armTimer(let timer, let at):
                        timers.append((at, from, timer))
                    case .stored(let version):
                        stored[from, default: []].append(version)
                    case .metric, .log, .leaveCompleted:
                        break
                    }
                }
            }
        }

        mutating func run(for duration: Duration) {
            let end = now + duration
            while let next = timers.indices.min(by: { timers[$0].at < timers[$1].at }), timers[next].at <= end {
                let (at, address, timer) = timers.remove(at: next)
                now = max(now, at)
                guard var engine = engines[address] else { continue }
                let effects = engine.timerFired(timer, now: now)
                engines[address] = engine
                perform(effects, at: address)
            }
            now = end
        }
    }

    @Test func twoEnginesJoinAndReplicateAWrite() throws {
        let start = Instant(nanoseconds: 1_000_000_000_000_000_000)
        var host = Host(now: start)
        let addresses = [PeerAddress("10.0.0.1:7946"), PeerAddress("10.0.0.2:7946")]
        for (i, address) in addresses.enumerated() {
            var config = EngineConfig(nodeID: try NodeID("node-\(i)"), address: address)
            config.antiEntropy.gossipInterval = .seconds(5)
            var engine = try Engine(config: config, seed: UInt64(i + 1), now: start)
            let effects = try engine.start(now: start)
            host.engines[address] = engine
            host.perform(effects, at: address)
        }
        var joiner = try #require(host.engines[addresses[1]])
        let joining = try joiner.join(seeds: [addresses[0]], now: host.now)
        host.engines[addresses[1]] = joiner
        host.perform(joining, at: addresses[1])
        host.run(for: .seconds(2))
        #expect(host.engines[addresses[0]]?.members.liveCount == 2)
        #expect(host.engines[addresses[1]]?.state.joined == true)

        var writer = try #require(host.engines[addresses[0]])
        let address = try MetadataAddress("app/config")
        let (version, effects) = try writer.put(address, value: .object(["replicas": .number(3)]), now: host.now)
        host.engines[addresses[0]] = writer
        host.perform(effects, at: addresses[0])
        host.run(for: .seconds(1))
        let replica = try #require(host.engines[addresses[1]]?.store.entry(address))
        #expect(replica.versions == [version])
        #expect(host.stored[addresses[1]]?.last == version, "the host is asked to persist what arrived")
        #expect(host.engines[addresses[1]]?.statistics(now: host.now).remoteUpdates == 1)
    }

    @Test func invalidInputIsRefusedWithTheSettingNamed() {
        #expect(throws: ValidationError.self) { try NodeID("has space") }
        #expect(throws: ValidationError.self) { try MetadataAddress("") }
        var config = EngineConfig(nodeID: try! NodeID("n"), address: PeerAddress("10.0.0.1:1"))
        config.antiEntropy.gossipInterval = .milliseconds(10)
        do {
            _ = try Engine(config: config, seed: 1, now: Instant(nanoseconds: 0))
            Issue.record("a gossip interval under 1 s must be refused")
        } catch {
            #expect("\(error)".contains("gossip interval"), "\(error)")
        }
    }
}
