import ECSVPCCore
import ECSVPCD
import Foundation
import Testing

/// `ecsvpcd run` against the agent as it really is (see `CellScenario`): the stand-in in agent mode dials the cell
/// hosts its DiscoverPollEndpoint answer names and redials them itself, and the daemon learns them from the
/// agent's log. Real dnsmasq, dockerd, loopback listeners and the built binary, as in `DaemonTests`.
@Suite("ecsvpcd run with the agent's cell hosts: its own move, cell-host-public, always, the settle time, the log")
struct AgentCellsDaemonTests {
    /// Long enough for several more cycles at the tests' 1 s interval.
    static let quiet: Duration = .seconds(4)

    /// The stand-in's websockets to the public cell hosts, the daemon running with `config`.
    static func scenario(
        _ config: [String: String] = [:], logFile: Bool = true, cacheTTL: Int = 43200, redialSeconds: Int = 1800,
        redialJitterSeconds: Int = 0, slotPrefix: String? = nil, slot: @escaping (TimeInterval) -> Bool = { _ in true }
    ) async throws -> (CellScenario, slotOffset: TimeInterval) {
        let scenario = try await CellScenario(
            logFile: logFile, cacheTTL: cacheTTL, redialSeconds: redialSeconds, redialJitterSeconds: redialJitterSeconds)
        do {
            try scenario.writeConfig(config)
            var offset: TimeInterval = 0
            if let slotPrefix { offset = try await scenario.base.setInstanceID(prefix: slotPrefix, slot: slot).offset }
            try await scenario.base.startDaemon()
            return (scenario, offset)
        } catch {
            scenario.stop()
            throw error
        }
    }

    @Test("cell hosts resolving to the endpoints: auto waits for the agent's own redial (waiting-own-move, cell-hosts-private), no restart, moved-by-itself")
    func naturalMoveIsWaitedFor() async throws {
        // Its slot comes a minute or more after confirmation; the agent redials 20–23 s after it connects.
        let (scenario, offset) = try await Self.scenario(
            ["ECSVPCD_RESTART_WINDOW": "2m"], redialSeconds: 20, redialJitterSeconds: 3, slotPrefix: "c1"
        ) { (60...115).contains($0) }
        defer { scenario.stop() }
        let base = scenario.base
        try await scenario.routeCells(.publicAddresses)
        try await scenario.waitForWebsockets()
        let started = try await scenario.agent.startedAt()

        try await scenario.routeAll(.vpc)
        try await scenario.waitUntil("the daemon waits for the agent's own move", timeout: .seconds(18)) {
            base.savedStatus()?.restart?.state == "waiting-own-move"
        }
        let waiting = try #require(base.savedStatus())
        let ownMove = try #require(waiting.agent?.ownMove, "\(waiting)")
        #expect(ownMove.because == .cellHostsPrivate)
        let cells = waiting.agent?.cells ?? []
        #expect(cells.first { $0.service == .ecsAgent }?.host == CellScenario.acs3, "\(cells)")
        #expect(cells.first { $0.service == .ecsTelemetry }?.host == CellScenario.tcs3, "\(cells)")
        #expect(cells.filter(\.isWebsocket).allSatisfy { $0.route == .vpcEndpoint && $0.source == "log" }, "\(cells)")
        #expect(waiting.agent?.connections == "public")
        let expectedBy = try #require(ownMove.expectedBy)
        let confirmedAt = try #require(base.ledger()?.confirmedAt)
        #expect(expectedBy < confirmedAt.addingTimeInterval(offset), "the forecast \(expectedBy) is not before the slot")
        #expect(expectedBy < Date().addingTimeInterval(25), "the forecast \(expectedBy) is not the agent's next redial")
        #expect(waiting.summary.contains("moves by itself"), "\(waiting.summary)")
        #expect(base.history.isEmpty, "\(base.history)")

        try await scenario.waitUntil("the agent's own move is recorded", timeout: .seconds(30)) {
            base.history.contains { $0.result == StatusDocument.RestartRecord.movedByItself }
        }
        let moved = try #require(base.history.first)
        #expect(moved.result == StatusDocument.RestartRecord.movedByItself, "\(base.history)")
        #expect(moved.via == "none")
        try await base.waitForAgentConnection(to: base.vpcAddresses[0])
        try await Task.sleep(for: Self.quiet)
        #expect(try await scenario.agent.startedAt() == started, "the agent was restarted")
        #expect(base.history.count == 1, "\(base.history)")
        #expect(!base.log.contains("restarting the ECS agent"), "\(base.log)")
        #expect(base.savedStatus()?.restart?.state == "idle")
        #expect(base.savedStatus()?.agent?.connections == "vpc-endpoint")
    }

    @Test("public cell hosts from before the endpoints: auto with a long window waits for the cache expiry and the agent moves by itself")
    func cacheExpiryMoveIsWaitedFor() async throws {
        // The daemon forecasts the real agent's 12 h cache (then up to 35 min to the redial): a slot later than that.
        let (scenario, _) = try await Self.scenario(
            ["ECSVPCD_RESTART_WINDOW": "24h"], cacheTTL: 25, redialSeconds: 4, redialJitterSeconds: 1, slotPrefix: "c2"
        ) { (13.5 * 3600...23.5 * 3600).contains($0) }
        defer { scenario.stop() }
        let base = scenario.base
        try await scenario.routeCells(.publicAddresses)
        try await scenario.publishPrivateCell4()
        // A start empties the agent's cache: it asks DiscoverPollEndpoint now and again 25 s from now.
        let started = try await scenario.restartAgent()
        try await scenario.waitForWebsockets()

        try await base.route(.vpc)
        try await scenario.waitUntil("the daemon waits for the agent's own move", timeout: .seconds(18)) {
            base.savedStatus()?.restart?.state == "waiting-own-move"
        }
        let waiting = try #require(base.savedStatus())
        let ownMove = try #require(waiting.agent?.ownMove, "\(waiting)")
        #expect(ownMove.because == .cacheExpiry)
        let expectedBy = try #require(ownMove.expectedBy)
        #expect(expectedBy > Date().addingTimeInterval(11 * 3600), "the forecast \(expectedBy) is not the 12 h cache")
        #expect(waiting.agent?.cells?.filter(\.isWebsocket).allSatisfy { $0.route == .public } == true)
        #expect(!waiting.findings.contains { $0.id == "cell-host-public" }, "\(waiting.findings)")

        // The next DiscoverPollEndpoint answer names a cell that the endpoints' private DNS covers.
        try await scenario.backend.answer(acs: CellScenario.acs4, tcs: CellScenario.tcs4)
        try await scenario.waitUntil("the agent's own move is recorded", timeout: .seconds(40)) {
            base.history.contains { $0.result == StatusDocument.RestartRecord.movedByItself }
        }
        #expect(base.history.first?.via == "none", "\(base.history)")
        try await scenario.waitForWebsockets(
            acs: CellScenario.acs4, tcs: CellScenario.tcs4, addresses: [base.vpcAddresses[0], base.vpcAddresses[1]])
        try await Task.sleep(for: Self.quiet)
        #expect(try await scenario.agent.startedAt() == started, "the agent was restarted")
        #expect(base.history.count == 1, "\(base.history)")
        #expect(!base.log.contains("restarting the ECS agent"), "\(base.log)")
        #expect(base.savedStatus()?.agent?.cells?.first { $0.service == .ecsAgent }?.host == CellScenario.acs4)
    }

    @Test("a DiscoverPollEndpoint call not answered yet is no discovery: the old public cell is not cell-host-public, the wait for the agent's own move goes on")
    func unansweredDiscoveryKeepsWaiting() async throws {
        let (scenario, _) = try await Self.scenario(
            ["ECSVPCD_RESTART_WINDOW": "24h"], cacheTTL: 20, redialSeconds: 3, slotPrefix: "c7"
        ) { (13.5 * 3600...23.5 * 3600).contains($0) }
        defer { scenario.stop() }
        let base = scenario.base
        try await scenario.routeCells(.publicAddresses)
        // A start empties the agent's cache: it asks DiscoverPollEndpoint now and again 20 s from now.
        try await scenario.restartAgent()
        try await scenario.waitForWebsockets()
        // The ECS API stops answering: the agent's next call hangs until its timeout (10 s), then it keeps its
        // expired entry, the cell from before the endpoints.
        let mark = await scenario.agentLog().count
        try scenario.backend.hang()
        try await base.route(.vpc)
        try await scenario.waitUntil("the endpoints are confirmed") { base.ledger()?.confirmedAt != nil }
        let callEnded = "msg=\"Error calling DiscoverPollEndpoint."
        try #require(
            !(await scenario.agentLog().dropFirst(mark).contains(callEnded)),
            "the agent's call ended before the daemon confirmed the endpoints: nothing to judge"
        )

        var states: Set<String> = []
        var findings: Set<String> = []
        var asked = false
        try await scenario.waitUntil("the agent's call fails and it reuses its expired entry", timeout: .seconds(40)) {
            let log = await scenario.agentLog().dropFirst(mark)
            if let status = base.savedStatus(), let state = status.restart?.state, state != "confirming" {
                states.insert(state)
                findings.formUnion(status.findings.map(\.id))
            }
            asked = asked || log.contains("msg=\"Invoking DiscoverPollEndpoint\"")
            return log.contains(callEnded)
        }
        #expect(asked)
        #expect(!findings.contains("cell-host-public"), "\(findings)\n\(base.log)")
        #expect(states == ["waiting-own-move"], "\(states)\n\(base.log)")
        #expect(base.savedStatus()?.agent?.ownMove?.because == .cacheExpiry)
        #expect(base.history.isEmpty, "\(base.history)")
    }

    @Test("an agent that learned a public cell host after the endpoints took effect: cell-host-public, blocked, no restart at its slot")
    func cellHostPublicBlocksRestart() async throws {
        let (scenario, offset) = try await Self.scenario(["ECSVPCD_RESTART_WINDOW": "30s"], slotPrefix: "c3") {
            (18...25).contains($0)
        }
        defer { scenario.stop() }
        let base = scenario.base
        try await scenario.routeCells(.publicAddresses)
        try await scenario.waitForWebsockets()
        // The names move to the endpoints; the agent's cell (ecs-a-3, ecs-t-3) is not covered and stays public.
        try await base.route(.vpc)
        try await scenario.waitUntil("the endpoints are confirmed") { base.ledger()?.confirmedAt != nil }
        let confirmedAt = try #require(base.ledger()?.confirmedAt)

        // Restarted after the endpoints took effect, the agent asks afresh and is told the same public cell.
        let started = try await scenario.restartAgent()
        try await scenario.waitForWebsockets()
        try await scenario.waitUntil("cell-host-public is found, the agent on the public cell again") {
            let status = base.savedStatus()
            return status?.findings.contains { $0.id == "cell-host-public" } == true && status?.agent?.connections == "public"
        }
        let status = try #require(base.savedStatus())
        let finding = try #require(status.findings.first { $0.id == "cell-host-public" })
        #expect(finding.severity == .warning)
        #expect(finding.message.contains(CellScenario.acs3) || finding.message.contains(CellScenario.tcs3), "\(finding)")
        #expect(status.restart?.state == "blocked", "\(status.restart as Any)")
        #expect(status.restart?.reason.contains("cell-host-public") == true, "\(status.restart as Any)")

        // Past the slot, where an agent on public addresses would otherwise be restarted.
        let wait = confirmedAt.addingTimeInterval(offset + 5).timeIntervalSinceNow
        if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
        #expect(base.history.isEmpty, "\(base.history)")
        #expect(try await scenario.agent.startedAt() == started, "the agent was restarted")
        #expect(!base.log.contains("restarting the ECS agent"), "\(base.log)")
        #expect(base.savedStatus()?.findings.contains { $0.id == "cell-host-public" } == true)
        #expect(base.log.contains("cell-host-public"))
    }

    @Test("ECSVPCD_RESTART=always restarts at the slot though the agent's log forecasts its own move before it; verified after settling, with the gap")
    func alwaysRestartsAtSlot() async throws {
        let (scenario, offset) = try await Self.scenario(
            ["ECSVPCD_RESTART": "always", "ECSVPCD_RESTART_WINDOW": "30s"], slotPrefix: "c4"
        ) { (20...27).contains($0) }
        defer { scenario.stop() }
        let base = scenario.base
        try await scenario.routeCells(.publicAddresses)
        try await scenario.waitForWebsockets()
        let before = try await scenario.agent.startedAt()
        try await scenario.routeAll(.vpc)
        try await scenario.waitUntil("the endpoints are confirmed") { base.ledger()?.confirmedAt != nil }
        // The agent's log says it redials both websockets a few seconds before the slot; the stand-in itself holds
        // them for 30 min, so only a restart moves it here.
        let slot = try #require(base.ledger()?.confirmedAt).addingTimeInterval(offset)
        let lead = Int(slot.timeIntervalSinceNow) - 3
        try #require(lead >= 4, "confirmed too late to forecast a move before the slot (\(lead + 3) s left)")
        try scenario.appendToAgentLog(CellScenario.websocketsEstablishedLines(connected: Date(), seconds: lead))

        var states: Set<String> = []
        var forecastBeforeSlot = false
        try await scenario.waitUntil("the agent is restarted", timeout: .seconds(60)) {
            if let status = base.savedStatus(), let restart = status.restart {
                states.insert(restart.state)
                if restart.state == "scheduled", let move = status.agent?.ownMove, move.because == .cellHostsPrivate,
                    let by = move.expectedBy, let slot = restart.notBefore, by <= slot
                {
                    forecastBeforeSlot = true
                }
            }
            return !base.history.isEmpty
        }
        #expect(forecastBeforeSlot, "no status showed the own-move forecast before the slot; states \(states)")
        #expect(!states.contains("waiting-own-move"), "\(states)")
        let confirmedAt = try #require(base.ledger()?.confirmedAt)

        let record = try await base.waitForRestart()
        #expect(record.result == "verified", "\(record)\n\(base.log)")
        #expect(record.via == "docker")
        let gap = try #require(record.gapSeconds, "\(record)")
        #expect(gap > 0 && gap < 30, "gap \(gap) s")
        // state.json keeps whole seconds: allow one second either way of the rounding.
        let afterConfirmation = record.at.timeIntervalSince(confirmedAt)
        #expect(afterConfirmation >= offset - 1, "restarted \(afterConfirmation) s after confirmation, slot at \(offset) s")
        #expect(afterConfirmation <= offset + 3, "restarted \(afterConfirmation) s after confirmation, slot at \(offset) s")
        #expect(try await scenario.agent.startedAt() != before)
        #expect(base.log.contains("restart gap"), "\(base.log)")
        #expect(base.log.contains("agent restart via docker verified"), "\(base.log)")
        let status = try #require(base.savedStatus())
        #expect(status.agent?.connections == "vpc-endpoint")
        #expect(!status.findings.contains { $0.id == "lost-after-restart" || $0.id == "restart-failed" }, "\(status.findings)")
    }

    @Test("an agent stopped a few seconds after its verified restart turns the record into lost-after-restart, critical")
    func stoppedAfterRestartIsLost() async throws {
        let (scenario, _) = try await Self.scenario(["ECSVPCD_RESTART_WINDOW": "0"])
        defer { scenario.stop() }
        let base = scenario.base
        try await scenario.routeCells(.publicAddresses)
        try await scenario.waitForWebsockets()
        try await scenario.routeAll(.vpc)
        try await scenario.waitUntil("the restart is verified and settling", timeout: .seconds(40)) {
            base.history.last?.result == StatusDocument.RestartRecord.settling
        }
        #expect(base.history.last?.gapSeconds != nil, "\(base.history)")
        // As ecs-init's ExecStop would after a restart through Docker.
        try await DaemonAgentContainer.docker(["stop", "-t", "2", scenario.agent.name])

        let record = try await base.waitForRestart()
        #expect(record.result == StatusDocument.RestartRecord.lostAfterRestart, "\(record)\n\(base.log)")
        #expect(record.detail?.contains("the agent stopped") == true, "\(record)")
        let (code, document) = try await base.status()
        #expect(code == Health.critical.exitCode)
        #expect(document.health == .critical)
        let finding = try #require(document.findings.first { $0.id == "lost-after-restart" }, "\(document.findings)")
        #expect(finding.severity == .critical)
        #expect(base.log.contains("agent restart via docker lost"), "\(base.log)")
        try await Task.sleep(for: Self.quiet)
        #expect(base.history.count == 1, "\(base.history)")
        #expect(try await scenario.agent.isRunning() == false, "ecsvpcd started or restarted the stopped agent")
    }

    @Test("without a log file the cell hosts come from the container's log, read on across the agent's restart")
    func cellsFromContainerLog() async throws {
        let (scenario, _) = try await Self.scenario(logFile: false)
        defer { scenario.stop() }
        let base = scenario.base
        try await scenario.routeCells(.publicAddresses)
        try await scenario.waitForWebsockets()
        try await scenario.waitUntil("the cell hosts are known and resolved") {
            let cells = base.savedStatus()?.agent?.cells ?? []
            return cells.first { $0.service == .ecsAgent }?.host == CellScenario.acs3
                && cells.first { $0.service == .ecsTelemetry }?.host == CellScenario.tcs3
                && cells.filter(\.isWebsocket).allSatisfy { $0.route != .unresolved }
        }
        #expect(!FileManager.default.fileExists(atPath: scenario.agentLogPath))
        let agent = try #require(base.savedStatus()?.agent)
        #expect(agent.cellsDetail?.contains("the container \(scenario.agent.name)'s log") == true, "\(agent.cellsDetail ?? "nil")")
        let acs = try #require(agent.cells?.first { $0.service == .ecsAgent })
        #expect(acs.host == CellScenario.acs3)
        #expect(acs.source == "log")
        #expect(acs.route == .public)
        #expect(acs.addresses.map(\.address) == [scenario.cellPublicAddresses[0]])
        #expect(agent.cells?.first { $0.service == .ecsTelemetry }?.host == CellScenario.tcs3)

        // Restarted, the agent is told another cell; the daemon reads the new run's log.
        try await scenario.publishPrivateCell4()
        try await scenario.backend.answer(acs: CellScenario.acs4, tcs: CellScenario.tcs4)
        try await scenario.restartAgent()
        try await scenario.waitForWebsockets(
            acs: CellScenario.acs4, tcs: CellScenario.tcs4, addresses: [base.vpcAddresses[0], base.vpcAddresses[1]])
        try await scenario.waitUntil("the new cell hosts are known") {
            let cells = base.savedStatus()?.agent?.cells ?? []
            return cells.first { $0.service == .ecsAgent }?.host == CellScenario.acs4
                && cells.first { $0.service == .ecsTelemetry }?.host == CellScenario.tcs4
        }
        let cells = base.savedStatus()?.agent?.cells ?? []
        #expect(cells.filter(\.isWebsocket).allSatisfy { $0.route == .vpcEndpoint }, "\(cells)")
    }

    @Test("an agent log path that cannot be read (a directory) is a note in cellsDetail, logged once; the daemon runs and decides nothing on it")
    func unreadableLogIsANote() async throws {
        let scenario = try await CellScenario()
        defer { scenario.stop() }
        let base = scenario.base
        // The directory the agent writes its log file into, not the file.
        try scenario.writeConfig(["ECSVPCD_AGENT_LOG": scenario.logs.path, "ECSVPCD_RESTART_WINDOW": "0"])
        let daemon = try await base.startDaemon()
        try await scenario.routeCells(.vpc)
        try await scenario.waitForWebsockets(addresses: [base.vpcAddresses[0], base.vpcAddresses[1]])
        let started = try await scenario.agent.startedAt()
        try await base.route(.vpc)
        try await scenario.waitUntil("the endpoints are confirmed") { base.ledger()?.confirmedAt != nil }
        try await Task.sleep(for: Self.quiet)

        #expect(daemon.isRunning, "ecsvpcd exited: \(daemon.exitDescription)\n\(base.log)")
        let agent = try #require(base.savedStatus()?.agent)
        #expect(agent.cellsDetail?.contains("is a directory") == true, "\(agent.cellsDetail ?? "nil")")
        #expect(agent.cellsDetail?.contains(scenario.logs.path) == true, "\(agent.cellsDetail ?? "nil")")
        #expect(agent.cells == nil, "\(agent.cells as Any)")
        #expect(agent.ownMove == nil, "\(agent.ownMove as Any)")
        #expect(base.savedStatus()?.restart?.state == "idle", "\(base.savedStatus()?.restart as Any)")
        #expect(base.history.isEmpty, "\(base.history)")
        #expect(try await scenario.agent.startedAt() == started)
        #expect(base.log.components(separatedBy: "agent log: cannot read the agent's log").count == 2, "\(base.log)")
    }
}
