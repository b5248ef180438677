import ECSVPCCore
import Foundation
import Testing

/// A cell host of the agent as the daemon reports it, on one address of the given class.
private func cell(
    _ service: AgentCellService, _ host: String, route: EndpointRoute, redial: Date? = nil, lastSeen: Date? = nil
) -> AgentCellReport {
    let address = IPAddress(route == .public ? "198.51.100.7" : "10.1.0.10")!
    return AgentCellReport(
        service: service, host: host,
        addresses: [AddressReport(address: address, class: route == .public ? .public : .vpc, ttl: 60, probe: .open(milliseconds: 1))],
        route: route, source: "log", plannedRedial: redial, lastSeen: lastSeen
    )
}

extension AgentFacts {
    /// `connectedPublicly()` with its cell hosts as the log names them.
    static func withCells(_ cells: [AgentCellReport], discoveredAt: Date, now: Date, connections: AgentConnectionState = .public)
        -> AgentFacts
    {
        var facts = AgentFacts.connectedPublicly(startedAt: discoveredAt).with(connections: connections)
        facts.cells = AgentCellFacts(cells: cells, discoveredAt: discoveredAt, now: now)
        return facts
    }
}

@Suite("The agent's own move and its cell hosts")
struct AgentCellsTests {
    let now = Date(timeIntervalSince1970: 1_750_000_000)

    @Test("cell hosts already on the endpoints: it moves at the later of its two planned redials")
    func privateCellsMoveAtNextRedial() {
        let acs = now.addingTimeInterval(600)
        let tcs = now.addingTimeInterval(1500)
        let move = AgentOwnMove.forecast(
            cells: [cell(.ecsAgent, "ecs-a-3.us-east-1.amazonaws.com", route: .vpcEndpoint, redial: acs),
                    cell(.ecsTelemetry, "ecs-t-3.us-east-1.amazonaws.com", route: .vpcEndpoint, redial: tcs)],
            discoveredAt: now.addingTimeInterval(-3600), now: now
        )
        #expect(move == AgentOwnMove(expectedBy: tcs, because: .cellHostsPrivate))
    }

    @Test("a planned redial already past is bounded by one connection's longest life from now")
    func pastRedialIsBounded() {
        let move = AgentOwnMove.forecast(
            cells: [cell(.ecsAgent, "ecs-a-3.us-east-1.amazonaws.com", route: .vpcEndpoint, redial: now.addingTimeInterval(-5))],
            discoveredAt: nil, now: now
        )
        #expect(move.expectedBy == now.addingTimeInterval(35 * 60))
        #expect(move.because == .cellHostsPrivate)
    }

    @Test("public cell hosts: it moves after its 12 h cache entry expires, plus one connection's life")
    func publicCellsMoveAfterCacheExpiry() {
        let discovered = now.addingTimeInterval(-13 * 3600)  // one refresh already happened at +12 h
        let move = AgentOwnMove.forecast(
            cells: [cell(.ecsAgent, "ecs-a-3.us-east-1.amazonaws.com", route: .public)],
            discoveredAt: discovered, now: now
        )
        #expect(move.because == .cacheExpiry)
        #expect(move.expectedBy == discovered.addingTimeInterval(24 * 3600 + 35 * 60))
    }

    @Test("no websocket cell host known: the move is unknown; Service Connect's host alone tells nothing")
    func unknownWithoutWebsocketCells() {
        let move = AgentOwnMove.forecast(
            cells: [cell(.serviceConnect, "ecs-sc-3.us-east-1.amazonaws.com", route: .public)],
            discoveredAt: now, now: now
        )
        #expect(move == AgentOwnMove(expectedBy: nil, because: .unknown))
    }

    @Test("auto: no restart when the agent moves by itself before this instance's slot; its move is recorded")
    func autoWaitsForOwnMove() {
        var harness = PlannerHarness(policy: .fleetDefault(window: .seconds(3600)))
        let started = harness.clock.now.addingTimeInterval(-7200)
        // The slot of this seed in a 1 h window, and a redial well before it.
        let offset = harness.planner.slotOffset(configurationKey: PlannerHarness.endpointKey)
        let redialIn = min(offset / 2, 60)
        func agent(_ connections: AgentConnectionState) -> AgentFacts {
            .withCells(
                [cell(.ecsAgent, "ecs-a-3.us-east-1.amazonaws.com", route: .vpcEndpoint,
                      redial: harness.clock.now.addingTimeInterval(redialIn)),
                 cell(.ecsTelemetry, "ecs-t-3.us-east-1.amazonaws.com", route: .vpcEndpoint,
                      redial: harness.clock.now.addingTimeInterval(redialIn))],
                discoveredAt: started, now: harness.clock.now, connections: connections
            )
        }
        _ = harness.confirm(agent: agent(.public))
        let decision = harness.decide(agent: agent(.public))
        #expect(decision.state == "waiting-own-move", "\(decision)")
        #expect(decision.reason.contains("next redial"), "\(decision)")
        harness.clock.advance(by: redialIn + 1)
        let moved = harness.decide(agent: agent(.vpcEndpoint))
        #expect(moved.state == "idle")
        #expect(harness.ledger.history.map(\.result) == ["moved-by-itself"])
        #expect(harness.ledger.restartsInLastDay(before: harness.clock.now).isEmpty, "a move is no restart")
    }

    @Test("always: restart at the slot even when the agent would move by itself")
    func alwaysRestartsAtSlot() {
        var harness = PlannerHarness(policy: .fleetDefault(mode: .always, window: .zero))
        let agent = AgentFacts.withCells(
            [cell(.ecsAgent, "ecs-a-3.us-east-1.amazonaws.com", route: .vpcEndpoint, redial: harness.clock.now.addingTimeInterval(30))],
            discoveredAt: harness.clock.now.addingTimeInterval(-7200), now: harness.clock.now
        )
        _ = harness.confirm(agent: agent)
        #expect(harness.decide(agent: agent).isRestart)
    }

    @Test("auto: a move expected after the slot does not hold the restart back")
    func autoRestartsWhenMoveIsLate() {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero))
        let agent = AgentFacts.withCells(
            [cell(.ecsAgent, "ecs-a-3.us-east-1.amazonaws.com", route: .public)],
            discoveredAt: harness.clock.now.addingTimeInterval(-3600), now: harness.clock.now
        )
        _ = harness.confirm(agent: agent)
        let decision = harness.decide(agent: agent)
        #expect(decision.isRestart, "\(decision)")
        #expect(decision.reason.contains("ecs-a-3.us-east-1.amazonaws.com resolves to public"), "\(decision)")
    }

    @Test("a public cell host learned after the endpoints took effect is never restarted for")
    func publicCellAfterConfirmationBlocks() {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero))
        let old = AgentFacts.connectedPublicly()
        let confirmed = harness.confirm(agent: old)
        harness.clock.advance(by: 60)
        let fresh = AgentFacts.withCells(
            [cell(.ecsAgent, "ecs-a-9.us-east-1.amazonaws.com", route: .public, lastSeen: confirmed.addingTimeInterval(31))],
            discoveredAt: confirmed.addingTimeInterval(30), now: harness.clock.now
        )
        let decision = harness.decide(agent: fresh)
        #expect(decision.state == "blocked", "\(decision)")
        #expect(decision.reason.contains("cell-host-public"), "\(decision)")
    }

    @Test("a discovery whose answer the log has not shown yet leaves the old public host as the cached one, not cell-host-public")
    func unansweredDiscoveryIsNotCellHostPublic() {
        var harness = PlannerHarness(policy: .fleetDefault(window: .zero))
        let confirmed = harness.confirm(agent: .connectedPublicly())
        harness.clock.advance(by: 60)
        // The agent restarted (or asked afresh) at +30 s; its log still names the old host, last at -1 h.
        let waiting = AgentFacts.withCells(
            [cell(.ecsAgent, "ecs-a-3.us-east-1.amazonaws.com", route: .public, lastSeen: confirmed.addingTimeInterval(-3600))],
            discoveredAt: confirmed.addingTimeInterval(30), now: harness.clock.now
        )
        let decision = harness.decide(agent: waiting)
        #expect(decision.state != "blocked", "\(decision)")
        #expect(!decision.reason.contains("cell-host-public"), "\(decision)")
    }

    @Test("a forecast that did not come true is not waited for again: the restart keeps its slot")
    func staleForecastIsNotWaitedForever() throws {
        // A seed whose slot in a 2 h window is more than an hour after confirmation, so the forecast (35 min)
        // comes before it.
        let policy = RestartPolicy.fleetDefault(window: .seconds(7200))
        let seed = try #require((0..<1000).map { "i-\($0)" }.first {
            RestartPlanner(policy: policy, seed: $0).slotOffset(configurationKey: PlannerHarness.endpointKey) > 3600
        })
        var harness = PlannerHarness(policy: policy, seed: seed)
        func agent() -> AgentFacts {
            .withCells(
                [cell(.ecsAgent, "ecs-a-3.us-east-1.amazonaws.com", route: .vpcEndpoint)],
                discoveredAt: harness.clock.now.addingTimeInterval(-7200), now: harness.clock.now
            )
        }
        _ = harness.confirm(agent: agent())
        #expect(harness.decide(agent: agent()).state == "waiting-own-move")
        harness.clock.advance(by: 45 * 60)
        let decision = harness.decide(agent: agent())
        #expect(decision.state == "scheduled", "\(decision)")
        #expect(decision.reason.contains("did not move by itself"), "\(decision)")
    }

    @Test("settling: verified only after 15 s and two looks; a stop within it is lost-after-restart")
    func settling() {
        var clock = TestClock()
        var ledger = RestartLedger()
        ledger.history.append(StatusDocument.RestartRecord(
            at: clock.now, via: "docker", result: "settling", reason: "test", detail: "connected to 10.1.0.10"
        ))
        ledger.settling = RestartLedger.Settling(restartAt: clock.now, until: clock.now.addingTimeInterval(15))
        var kept = ledger
        clock.advance(by: 5)
        #expect(ledger.settle(now: clock.now, running: true, connections: .vpcEndpoint) == .watching)
        clock.advance(by: 11)
        #expect(ledger.settle(now: clock.now, running: true, connections: .vpcEndpoint).map { if case .verified = $0 { true } else { false } } == true)
        #expect(ledger.history.last?.result == "verified")
        #expect(ledger.settling == nil)
        #expect(ledger.settle(now: clock.now, running: true, connections: .vpcEndpoint) == nil)

        // The same restart, and ecs-init's ExecStop stops the agent three seconds after it.
        let lost = kept.settle(now: clock.now, running: false, connections: .none)
        guard case .lost(let record) = lost else {
            Issue.record("expected lost, got \(String(describing: lost))")
            return
        }
        #expect(record.result == "lost-after-restart")
        #expect(record.detail?.contains("the agent stopped") == true)
        #expect(kept.history.last?.result == "lost-after-restart")
        #expect(kept.restartsInLastDay(before: clock.now).count == 1, "a lost restart still counts for the budget")
    }

    @Test("a cell host on endpoint addresses that refuse or drop 443 is critical and holds back a restart")
    func cellHostNotAccepting() {
        func assess(_ probe: ProbeOutcome) -> AgentAssessment {
            let fixture = AgentObservationFixture(sockets: .remotes([IPAddress("198.51.100.7")!]))
            let observation = AgentObservation(
                container: fixture.container, containerError: nil, metadata: nil, metadataError: nil,
                settings: fixture.settings, sockets: fixture.sockets, supervisor: .systemd, supervisorDetail: "active"
            )
            let cell = AgentCellReport(
                service: .ecsAgent, host: "ecs-a-3.us-east-1.amazonaws.com",
                addresses: [AddressReport(address: IPAddress("10.1.0.10")!, class: .vpc, ttl: 60, probe: probe)],
                route: .vpcEndpoint, source: "log", plannedRedial: nil
            )
            return AgentAssessment(
                observation: observation, classifier: AgentObservationFixture.classifier, proxy: nil,
                region: "us-east-1", endpointAddresses: [], cells: [cell], now: now
            )
        }
        let dropped = assess(.timeout)
        #expect(dropped.findings.contains { $0.id == "cell-host-not-accepting" && $0.severity == .critical })
        #expect(!dropped.cellHostsAcceptConnections)
        let open = assess(.open(milliseconds: 1))
        #expect(!open.findings.contains { $0.id == "cell-host-not-accepting" })
        #expect(open.cellHostsAcceptConnections)
    }
}
