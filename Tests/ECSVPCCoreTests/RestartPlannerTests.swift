import ECSVPCCore
import Foundation
import Testing

/// A test clock: just a `Date` the test moves forward.
struct TestClock {
    var now = Date(timeIntervalSince1970: 1_750_000_000)

    mutating func advance(by seconds: TimeInterval) { now = now.addingTimeInterval(seconds) }
}

extension AgentFacts {
    /// A running agent, no proxy, started long ago, still connected to public addresses.
    static func connectedPublicly(startedAt: Date = Date(timeIntervalSince1970: 1_700_000_000)) -> AgentFacts {
        AgentFacts(exists: true, running: true, startedAt: startedAt, connections: .public, viaProxy: false)
    }

    func with(connections: AgentConnectionState) -> AgentFacts {
        var copy = self
        copy.connections = connections
        return copy
    }
}

extension RestartPolicy {
    static func fleetDefault(
        mode: RestartMode = .auto, stableProbes: Int = 3, window: Duration = .seconds(600),
        cooldown: Duration = .seconds(3600), budget: Int = 3
    ) -> RestartPolicy {
        RestartPolicy(mode: mode, stableProbes: stableProbes, window: window, cooldown: cooldown, budget: budget)
    }
}

extension RestartDecision {
    var isRestart: Bool {
        if case .restart = self { return true }
        return false
    }
}

/// One instance's planner, ledger and clock, observed every `interval` seconds.
struct PlannerHarness {
    static let endpointKey = "ecs-a.us-east-1.amazonaws.com=10.1.0.10;ecs-t.us-east-1.amazonaws.com=10.1.0.11;"
        + "ecs.us-east-1.amazonaws.com=10.1.0.12"
    static let otherEndpointKey = "ecs-a.us-east-1.amazonaws.com=10.1.0.20;ecs-t.us-east-1.amazonaws.com=10.1.0.21;"
        + "ecs.us-east-1.amazonaws.com=10.1.0.22"

    var planner: RestartPlanner
    var ledger = RestartLedger()
    var clock = TestClock()
    var interval: TimeInterval = 30

    init(policy: RestartPolicy = .fleetDefault(), seed: String = "i-0123456789abcdef0") {
        planner = RestartPlanner(policy: policy, seed: seed)
    }

    /// Decides at the current time, without moving the clock.
    mutating func decide(
        _ configuration: EndpointConfiguration = .vpcEndpoints,
        key: String = PlannerHarness.endpointKey,
        accepting: Bool = true,
        agent: AgentFacts = .connectedPublicly(),
        force: Bool = false
    ) -> RestartDecision {
        planner.decide(
            now: clock.now, configuration: configuration, configurationKey: key,
            endpointsAcceptConnections: accepting, agent: agent, ledger: &ledger, force: force
        )
    }

    /// Decides, then moves the clock one interval on.
    mutating func observe(
        _ configuration: EndpointConfiguration = .vpcEndpoints,
        key: String = PlannerHarness.endpointKey,
        accepting: Bool = true,
        agent: AgentFacts = .connectedPublicly(),
        force: Bool = false
    ) -> RestartDecision {
        let decision = decide(configuration, key: key, accepting: accepting, agent: agent, force: force)
        clock.advance(by: interval)
        return decision
    }

    /// Observes the endpoint configuration until it is confirmed; returns the confirmation time.
    mutating func confirm(key: String = PlannerHarness.endpointKey, agent: AgentFacts = .connectedPublicly()) -> Date {
        for _ in 1..<planner.policy.stableProbes {
            _ = observe(key: key, agent: agent)
        }
        let at = clock.now
        _ = decide(key: key, agent: agent)
        return at
    }

    /// What the daemon does after a restart: remember it in the ledger's history.
    mutating func recordRestart(at date: Date? = nil, result: String = "verified") {
        ledger.history.append(StatusDocument.RestartRecord(
            at: date ?? clock.now, via: "systemd", result: result, reason: "test", detail: nil
        ))
    }
}

/// SplitMix64: a small seeded generator, so simulated runs are the same on every machine and every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

@Suite("Restart planner: confirmation")
struct RestartConfirmationTests {
    @Test("confirms the endpoint configuration only on stableProbes consecutive observations")
    func confirmsAfterStableProbes() {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero))
        #expect(harness.observe() == .confirming(seen: 1, needed: 3))
        #expect(harness.observe() == .confirming(seen: 2, needed: 3))
        let at = harness.clock.now
        #expect(harness.observe().isRestart)
        #expect(harness.ledger.confirmedAt == at)
    }

    @Test("a new configuration key starts the confirmation again")
    func keyChangeResets() {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero))
        _ = harness.observe()
        _ = harness.observe()
        #expect(harness.observe(key: PlannerHarness.otherEndpointKey) == .confirming(seen: 1, needed: 3))
        #expect(harness.observe(key: PlannerHarness.otherEndpointKey) == .confirming(seen: 2, needed: 3))
        #expect(harness.observe() == .confirming(seen: 1, needed: 3))
    }

    @Test("a new configuration key after confirmation needs its own confirmation and gets its own confirmation time")
    func keyChangeAfterConfirmation() {
        var harness = PlannerHarness()
        let first = harness.confirm()
        harness.clock.advance(by: 30)
        let second = harness.confirm(key: PlannerHarness.otherEndpointKey)
        #expect(second > first)
        #expect(harness.ledger.confirmedAt == second)
        #expect(harness.ledger.configurationKey == PlannerHarness.otherEndpointKey)
    }

    @Test(
        "a configuration that is not vpc-endpoints resets the confirmation",
        arguments: [EndpointConfiguration.partial, .public, .unresolved]
    )
    func nonEndpointConfigurationResets(_ configuration: EndpointConfiguration) {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero))
        _ = harness.observe()
        _ = harness.observe()
        guard case .idle = harness.observe(configuration) else {
            Issue.record("expected idle for \(configuration)")
            return
        }
        // Public is counted towards its own confirmation (the endpoints removed); the others count nothing.
        #expect(harness.ledger.consecutive == (configuration == .public ? 1 : 0))
        #expect(harness.ledger.configurationKey != PlannerHarness.endpointKey)
        #expect(harness.ledger.confirmedAt == nil)
        #expect(harness.observe() == .confirming(seen: 1, needed: 3))
    }

    @Test("a confirmed configuration going public forgets the confirmation")
    func confirmedThenPublicForgets() {
        var harness = PlannerHarness()
        _ = harness.confirm()
        harness.clock.advance(by: 30)
        guard case .idle = harness.observe(.public) else {
            Issue.record("expected idle")
            return
        }
        #expect(harness.ledger.confirmedAt == nil)
        #expect(harness.observe() == .confirming(seen: 1, needed: 3))
    }

    @Test(
        "flapping between vpc-endpoints and another answer never reaches a restart",
        arguments: [EndpointConfiguration.public, .partial, .unresolved]
    )
    func flappingNeverRestarts(_ other: EndpointConfiguration) {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero, cooldown: .zero, budget: 1000))
        for round in 0..<2000 {
            // Up to stableProbes − 1 endpoint answers in a row, then the other answer.
            let run = round % 3
            for _ in 0..<run {
                #expect(!harness.observe().isRestart)
            }
            #expect(!harness.observe(other).isRestart)
        }
        #expect(harness.ledger.confirmedAt == nil)
    }

    @Test("flapping between two endpoint configurations never reaches a restart")
    func flappingKeysNeverRestarts() {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero, cooldown: .zero, budget: 1000))
        for round in 0..<2000 {
            let key = round.isMultiple(of: 2) ? PlannerHarness.endpointKey : PlannerHarness.otherEndpointKey
            #expect(!harness.observe(key: key).isRestart)
            #expect(!harness.observe(key: key).isRestart)
        }
    }

    @Test("a partial configuration never causes a restart, however long it lasts")
    func partialNeverRestarts() {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero, cooldown: .zero, budget: 1000))
        for _ in 0..<2880 {
            #expect(harness.observe(.partial) == .idle(reason: "only some endpoints are in effect; waiting for all three"))
        }
    }

    @Test("endpoints removed before the slot never cause a restart")
    func removedEndpointsNeverRestart() throws {
        var harness = PlannerHarness()
        _ = harness.confirm()
        harness.clock.advance(by: 30)
        // Past any slot in the window, the names resolve publicly again.
        for _ in 0..<100 {
            let decision = harness.observe(.public)
            guard case .idle = decision else {
                Issue.record("expected idle, got \(decision)")
                return
            }
        }
    }
}

@Suite("Restart planner: safety")
struct RestartSafetyTests {
    @Test("does not restart when an endpoint refuses 443")
    func endpointsRefuse() {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero))
        _ = harness.confirm()
        for _ in 0..<100 {
            guard case .blocked = harness.observe(accepting: false) else {
                Issue.record("expected blocked")
                return
            }
        }
        #expect(harness.observe().isRestart)
    }

    @Test("does not restart an agent that is not running")
    func agentNotRunning() {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero))
        var stopped = AgentFacts.connectedPublicly()
        stopped.running = false
        stopped.connections = .none
        _ = harness.confirm(agent: stopped)
        guard case .blocked(let reason) = harness.decide(agent: stopped) else {
            Issue.record("expected blocked")
            return
        }
        #expect(reason.contains("not running"))
    }

    @Test("does not restart an agent container that does not exist")
    func agentAbsent() {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero))
        let absent = AgentFacts(exists: false, running: false, startedAt: nil, connections: .unknown, viaProxy: false)
        _ = harness.confirm(agent: absent)
        guard case .blocked = harness.decide(agent: absent) else {
            Issue.record("expected blocked")
            return
        }
    }

    @Test("does not restart an agent that reaches ECS through a proxy")
    func agentViaProxy() {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero))
        var proxied = AgentFacts.connectedPublicly()
        proxied.viaProxy = true
        _ = harness.confirm(agent: proxied)
        guard case .blocked(let reason) = harness.decide(agent: proxied) else {
            Issue.record("expected blocked")
            return
        }
        #expect(reason.contains("proxy"))
        guard case .blocked = harness.decide(agent: proxied, force: true) else {
            Issue.record("an operator's request must not skip the proxy check")
            return
        }
    }

    @Test("stays idle when the agent is already connected through the endpoints")
    func agentOnEndpoints() {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero))
        let onEndpoints = AgentFacts.connectedPublicly().with(connections: .vpcEndpoint)
        _ = harness.confirm(agent: onEndpoints)
        #expect(harness.decide(agent: onEndpoints) == .idle(reason: "the agent is connected through the endpoints"))
        #expect(harness.decide(agent: onEndpoints, force: true) == .idle(reason: "the agent is connected through the endpoints"))
    }

    @Test(
        "restarts an agent with unknown or no connections that started before the confirmation",
        arguments: [AgentConnectionState.unknown, .none]
    )
    func unknownConnectionsStartedBefore(_ connections: AgentConnectionState) {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero))
        let confirmedAt = harness.clock.now.addingTimeInterval(60)
        let agent = AgentFacts.connectedPublicly(startedAt: confirmedAt.addingTimeInterval(-1)).with(connections: connections)
        #expect(harness.confirm(agent: agent) == confirmedAt)
        #expect(harness.decide(agent: agent) == .restart(
            reason: "the endpoints are in effect and the agent started before they were confirmed"
        ))
    }

    @Test(
        "stays idle when the agent's connections are unknown or none and it started after the confirmation",
        arguments: [AgentConnectionState.unknown, .none]
    )
    func unknownConnectionsStartedAfter(_ connections: AgentConnectionState) {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero))
        let confirmedAt = harness.confirm()
        for startedAt in [confirmedAt, confirmedAt.addingTimeInterval(5)] {
            let agent = AgentFacts.connectedPublicly(startedAt: startedAt).with(connections: connections)
            #expect(harness.decide(agent: agent) == .idle(reason: "the agent started after the endpoints were first confirmed"))
        }
    }

    @Test("stays idle when the agent's connections are unknown and its start time too")
    func unknownStartTime() {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero))
        let agent = AgentFacts(exists: true, running: true, startedAt: nil, connections: .unknown, viaProxy: false)
        _ = harness.confirm(agent: agent)
        guard case .idle = harness.decide(agent: agent) else {
            Issue.record("expected idle")
            return
        }
    }
}

@Suite("Restart planner: an agent whose connections cannot be seen")
struct RestartUnseenConnectionsTests {
    /// The endpoints confirmed, the agent restarted (or started by anyone) after that, its connections unknown or
    /// none: what the decision says after `blip` and a new confirmation, past any cooldown.
    static func decisionAfterBlip(
        _ connections: AgentConnectionState, blip: (inout PlannerHarness) -> Void
    ) -> RestartDecision {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero, cooldown: .seconds(60)))
        _ = harness.confirm()
        harness.clock.advance(by: 120)
        let agent = AgentFacts.connectedPublicly(startedAt: harness.clock.now).with(connections: connections)
        harness.clock.advance(by: 3600)
        blip(&harness)
        for _ in 0..<harness.planner.policy.stableProbes { _ = harness.observe(agent: agent) }
        return harness.decide(agent: agent)
    }

    @Test(
        "one unresolved or partial observation does not make an agent started since the confirmation look old",
        arguments: [AgentConnectionState.unknown, .none], [EndpointConfiguration.unresolved, .partial]
    )
    func blipKeepsFirstConfirmation(_ connections: AgentConnectionState, _ blip: EndpointConfiguration) {
        let decision = Self.decisionAfterBlip(connections) { harness in _ = harness.observe(blip) }
        #expect(decision == .idle(reason: "the agent started after the endpoints were first confirmed"))
    }

    @Test("a change of the endpoints' addresses does not make an agent started since the first confirmation look old")
    func addressChangeKeepsFirstConfirmation() {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero, cooldown: .seconds(60)))
        _ = harness.confirm()
        harness.clock.advance(by: 120)
        let agent = AgentFacts.connectedPublicly(startedAt: harness.clock.now).with(connections: .none)
        harness.clock.advance(by: 3600)
        for _ in 0..<3 { _ = harness.observe(key: PlannerHarness.otherEndpointKey, agent: agent) }
        #expect(harness.ledger.confirmedAt != nil)
        #expect(harness.decide(key: PlannerHarness.otherEndpointKey, agent: agent)
            == .idle(reason: "the agent started after the endpoints were first confirmed"))
    }

    @Test("endpoints removed (public, confirmed) and created again: an agent started in between is restarted")
    func removedAndRecreatedStartsAfresh() {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero, cooldown: .seconds(60)))
        _ = harness.confirm()
        for _ in 0..<3 { _ = harness.observe(.public) }
        #expect(harness.ledger.firstConfirmedAt == nil)
        harness.clock.advance(by: 120)
        let agent = AgentFacts.connectedPublicly(startedAt: harness.clock.now).with(connections: .unknown)
        harness.clock.advance(by: 120)
        _ = harness.confirm(agent: agent)
        #expect(harness.decide(agent: agent).isRestart)
    }

    @Test("public seen fewer than stableProbes times in a row keeps the first confirmation")
    func briefPublicKeepsFirstConfirmation() {
        let decision = Self.decisionAfterBlip(.none) { harness in
            _ = harness.observe(.public)
            _ = harness.observe(.public)
        }
        #expect(decision == .idle(reason: "the agent started after the endpoints were first confirmed"))
    }

    @Test("a state file from before firstConfirmedAt: its confirmation counts as the first, through a blip")
    func upgradedStateFileKeepsItsConfirmation() {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero, cooldown: .seconds(60)))
        let confirmedAt = harness.confirm()
        harness.ledger.firstConfirmedAt = nil  // as an older ecsvpcd wrote it
        harness.clock.advance(by: 120)
        let agent = AgentFacts.connectedPublicly(startedAt: harness.clock.now).with(connections: .none)
        harness.clock.advance(by: 3600)
        _ = harness.observe(.unresolved, agent: agent)
        for _ in 0..<3 { _ = harness.observe(agent: agent) }
        #expect(harness.ledger.firstConfirmedAt == confirmedAt)
        #expect(harness.decide(agent: agent) == .idle(reason: "the agent started after the endpoints were first confirmed"))
    }

    @Test("a restart recorded at a time later than now (a clock behind at boot) keeps its cooldown, the safe way")
    func futureRecordHoldsTheCooldown() {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero, cooldown: .seconds(3600), budget: 3))
        _ = harness.confirm()
        let later = harness.clock.now.addingTimeInterval(600)
        harness.recordRestart(at: later)
        guard case .coolingDown(let until, _) = harness.decide() else {
            Issue.record("expected the cooldown")
            return
        }
        #expect(until == later.addingTimeInterval(3600))
        #expect(harness.ledger.history.map(\.at) == [later], "the record is not rewritten")
    }

    @Test("a state file's huge or negative count does not trap, and confirms on the next observation or counts again")
    func editedCountIsClamped() {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero))
        harness.ledger.configurationKey = PlannerHarness.endpointKey
        harness.ledger.consecutive = Int.max
        #expect(harness.observe().isRestart)
        var counting = PlannerHarness(policy: .fleetDefault(window: .zero))
        counting.ledger.configurationKey = PlannerHarness.endpointKey
        counting.ledger.consecutive = Int.min
        #expect(counting.observe() == .confirming(seen: 1, needed: 3))
        var publicCount = PlannerHarness(policy: .fleetDefault(window: .zero))
        publicCount.ledger.configurationKey = "public"
        publicCount.ledger.consecutive = Int.min
        _ = publicCount.observe(.public)
        #expect(publicCount.ledger.consecutive == 1)
    }
}

@Suite("Restart planner: slot")
struct RestartSlotTests {
    @Test("restarts exactly at the slot, not before")
    func restartsAtTheSlot() throws {
        var harness = PlannerHarness()
        let offset = harness.planner.slotOffset(configurationKey: PlannerHarness.endpointKey)
        try #require(offset > 1)
        let confirmedAt = harness.confirm()
        let slot = confirmedAt.addingTimeInterval(offset)
        let reason = "the endpoints are in effect but the agent is still connected to public addresses"
        #expect(harness.decide() == .scheduled(at: slot, reason: reason))
        harness.clock.now = slot.addingTimeInterval(-0.001)
        #expect(harness.decide() == .scheduled(at: slot, reason: reason))
        harness.clock.now = slot
        #expect(harness.decide() == .restart(reason: reason))
    }

    @Test("the slot offset lies in [0, window) and spreads across instances")
    func slotOffsetRange() {
        let window: TimeInterval = 600
        var buckets = [Int](repeating: 0, count: 10)
        for n in 0..<10_000 {
            let planner = RestartPlanner(policy: .fleetDefault(), seed: "i-\(String(n, radix: 16))")
            let offset = planner.slotOffset(configurationKey: PlannerHarness.endpointKey)
            #expect(offset >= 0 && offset < window)
            buckets[min(9, Int(offset / 60))] += 1
        }
        // 1,000 expected per minute; a fair hash stays well within ±20 %.
        #expect(buckets.allSatisfy { (800...1200).contains($0) }, "per-minute slots: \(buckets)")
    }

    @Test("the slot is stable across calls and across a fresh ledger")
    func slotIsStable() {
        var harness = PlannerHarness()
        let offset = harness.planner.slotOffset(configurationKey: PlannerHarness.endpointKey)
        let confirmedAt = harness.confirm()
        var slots: Set<Date> = []
        for _ in 0..<5 {
            harness.clock.advance(by: 30)
            if case .scheduled(let at, _) = harness.decide() { slots.insert(at) }
        }
        #expect(slots == [confirmedAt.addingTimeInterval(offset)])

        // A re-run: a new planner for the same instance, a fresh ledger, the same configuration.
        var rerun = PlannerHarness()
        rerun.clock.now = harness.clock.now.addingTimeInterval(3)
        #expect(rerun.planner.slotOffset(configurationKey: PlannerHarness.endpointKey) == offset)
        let reconfirmedAt = rerun.confirm()
        #expect(rerun.decide().notBefore == reconfirmedAt.addingTimeInterval(offset))

        // Another configuration gets another slot.
        #expect(harness.planner.slotOffset(configurationKey: PlannerHarness.otherEndpointKey) != offset)
    }

    @Test("a window of zero restarts as soon as the configuration is confirmed")
    func zeroWindowIsImmediate() {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero))
        #expect(harness.planner.slotOffset(configurationKey: PlannerHarness.endpointKey) == 0)
        _ = harness.observe()
        _ = harness.observe()
        #expect(harness.observe().isRestart)
    }

    @Test("never mode reports the restart as pending with the slot time, and never restarts")
    func neverModeIsPending() {
        var harness = PlannerHarness(policy: .fleetDefault(mode: .never))
        let offset = harness.planner.slotOffset(configurationKey: PlannerHarness.endpointKey)
        let slot = harness.confirm().addingTimeInterval(offset)
        guard case .pending(let at, let reason) = harness.decide() else {
            Issue.record("expected pending")
            return
        }
        #expect(at == slot)
        #expect(reason.contains("ECSVPCD_RESTART=never"))
        for _ in 0..<100 {
            let decision = harness.observe()
            guard case .pending = decision else {
                Issue.record("expected pending, got \(decision)")
                return
            }
        }
        #expect(!harness.decide(force: true).isRestart)
    }

    @Test("an operator's request skips the slot")
    func forceSkipsTheSlot() throws {
        var harness = PlannerHarness()
        try #require(harness.planner.slotOffset(configurationKey: PlannerHarness.endpointKey) > 1)
        _ = harness.confirm()
        guard case .scheduled = harness.decide() else {
            Issue.record("expected scheduled")
            return
        }
        guard case .restart(let reason) = harness.decide(force: true) else {
            Issue.record("expected restart")
            return
        }
        #expect(reason.contains("operator"))
    }

    @Test("an operator's request does not skip the confirmation, the endpoint probe or the agent check")
    func forceKeepsTheSafetyChecks() {
        var harness = PlannerHarness()
        #expect(harness.observe(force: true) == .confirming(seen: 1, needed: 3))
        _ = harness.confirm()
        guard case .blocked = harness.decide(accepting: false, force: true) else {
            Issue.record("expected blocked")
            return
        }
        let onEndpoints = AgentFacts.connectedPublicly().with(connections: .vpcEndpoint)
        guard case .idle = harness.decide(agent: onEndpoints, force: true) else {
            Issue.record("expected idle")
            return
        }
    }
}

@Suite("Restart planner: cooldown and budget")
struct RestartLimitTests {
    @Test("no restart within the cooldown after a recorded restart, even if the agent still looks public")
    func cooldownHolds() {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero))
        _ = harness.confirm()
        #expect(harness.decide().isRestart)
        let restartedAt = harness.clock.now
        harness.recordRestart()
        let until = restartedAt.addingTimeInterval(3600)
        // Every 30 s for the hour: still public, still waiting.
        harness.clock.advance(by: 30)
        while harness.clock.now < until {
            let decision = harness.observe()
            guard case .coolingDown(let at, _) = decision else {
                Issue.record("expected cooling down at \(harness.clock.now), got \(decision)")
                return
            }
            #expect(at == until)
        }
        harness.clock.now = until
        #expect(harness.decide().isRestart)
    }

    @Test("a failed restart counts for the cooldown too")
    func failedRestartCools() {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero))
        _ = harness.confirm()
        harness.recordRestart(result: "failed")
        harness.clock.advance(by: 60)
        #expect(harness.decide().notBefore == harness.ledger.history[0].at.addingTimeInterval(3600))
    }

    @Test("a fourth restart within 24 hours is refused once the budget of 3 is spent")
    func budgetOfThree() {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero, cooldown: .zero, budget: 3))
        _ = harness.confirm()
        let oldest = harness.clock.now
        for hour in 0..<3 {
            harness.clock.now = oldest.addingTimeInterval(Double(hour) * 3600)
            #expect(harness.decide().isRestart, "restart \(hour + 1)")
            harness.recordRestart()
        }
        harness.clock.now = oldest.addingTimeInterval(3 * 3600)
        guard case .budgetSpent(let until, _) = harness.decide() else {
            Issue.record("expected the budget to be spent")
            return
        }
        #expect(until == oldest.addingTimeInterval(86400))
        harness.clock.now = until.addingTimeInterval(-0.001)
        #expect(harness.decide().notBefore == until)
        // Once the oldest restart is 24 hours old, one more is allowed.
        harness.clock.now = until
        #expect(harness.decide().isRestart)
    }

    @Test("after the budget is lowered below the restarts of the last day, budget-spent says when one is allowed again")
    func loweredBudgetReportsTheRightTime() {
        // Four restarts an hour apart under a budget of 4, then a reload lowers the budget to 2: a restart is
        // allowed again once only one remains in the last 24 hours, i.e. when the third is a day old.
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero, cooldown: .zero, budget: 2))
        _ = harness.confirm()
        let first = harness.clock.now
        for hour in 0..<4 { harness.recordRestart(at: first.addingTimeInterval(Double(hour) * 3600)) }
        harness.clock.now = first.addingTimeInterval(4 * 3600)
        let allowedAgain = first.addingTimeInterval(2 * 3600 + 86400)
        #expect(harness.decide().notBefore == allowedAgain)
        // At the time it reports, the planner must really allow the restart.
        if let reported = harness.decide().notBefore {
            harness.clock.now = reported
            #expect(harness.decide().isRestart, "refused at the reported time \(reported)")
        }
    }

    @Test("an operator's request skips the slot but neither the cooldown nor the budget")
    func forceKeepsCooldownAndBudget() {
        var harness = PlannerHarness(policy: .fleetDefault(cooldown: .seconds(3600), budget: 2))
        _ = harness.confirm()
        harness.recordRestart()
        harness.clock.advance(by: 60)
        guard case .coolingDown = harness.decide(force: true) else {
            Issue.record("expected cooling down")
            return
        }
        harness.clock.advance(by: 3600)
        harness.recordRestart()
        harness.clock.advance(by: 3600)
        guard case .budgetSpent = harness.decide(force: true) else {
            Issue.record("expected budget spent")
            return
        }
    }

    @Test("a week of DNS flipping between public and the endpoints stays within the budget and the cooldown")
    func weekOfFlapping() {
        let policy = RestartPolicy.fleetDefault(stableProbes: 3, window: .seconds(600), cooldown: .seconds(3600), budget: 3)
        var harness = PlannerHarness(policy: policy, seed: "i-0fedcba9876543210")
        var rng = SplitMix64(seed: 0x5eed_0001)
        let start = harness.clock.now
        let end = start.addingTimeInterval(7 * 86400)

        var endpointsInEffect = false
        var nextFlip = start.addingTimeInterval(Double.random(in: 600...14400, using: &rng))
        var agent = AgentFacts.connectedPublicly(startedAt: start.addingTimeInterval(-86400))
        var key = PlannerHarness.endpointKey
        var restarts: [Date] = []
        var states: Set<String> = []

        while harness.clock.now < end {
            let now = harness.clock.now
            if now >= nextFlip {
                endpointsInEffect.toggle()
                nextFlip = now.addingTimeInterval(Double.random(in: 600...14400, using: &rng))
                if endpointsInEffect {
                    // Sometimes the endpoints come back with new addresses.
                    if Bool.random(using: &rng) {
                        key = key == PlannerHarness.endpointKey ? PlannerHarness.otherEndpointKey : PlannerHarness.endpointKey
                    }
                } else {
                    // The names resolve publicly again: the agent reconnects to public addresses.
                    agent.connections = .public
                }
            }
            let decision = harness.observe(endpointsInEffect ? .vpcEndpoints : .public, key: key, agent: agent)
            states.insert(decision.state)
            if decision.isRestart {
                #expect(endpointsInEffect)
                restarts.append(now)
                harness.recordRestart(at: now)
                agent = AgentFacts(exists: true, running: true, startedAt: now, connections: .vpcEndpoint, viaProxy: false)
            }
        }

        print("week of flapping DNS: \(restarts.count) restarts, decision states seen: \(states.sorted())")
        for (index, at) in restarts.enumerated() {
            let inDay = restarts[...index].filter { at.timeIntervalSince($0) < 86400 }.count
            #expect(inDay <= 3, "restart at \(at): \(inDay) restarts in the 24 hours before")
            if index > 0 {
                #expect(at.timeIntervalSince(restarts[index - 1]) >= 3600, "restart at \(at) inside the cooldown")
            }
        }
        // The run must have wanted more restarts than allowed, or it pins nothing.
        #expect(restarts.count >= 7, "only \(restarts.count) restarts in the week")
        #expect(states.contains("budget-spent"))
        #expect(states.contains("waiting-cooldown"))
    }
}
