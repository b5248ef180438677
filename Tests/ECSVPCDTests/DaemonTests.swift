import ECSVPCCore
import ECSVPCD
import Foundation
import Testing

/// `ecsvpcd run` end to end: the built binary against real dnsmasq, the IMDSv2 emulator, loopback listeners and a
/// stand-in agent container on the run's dockerd (see `DaemonScenario`).
@Suite("ecsvpcd run end to end: flips, restarts, safety, recovery, signals")
struct DaemonTests {
    /// Long enough for several more cycles at the tests' 1 s interval.
    static let quiet: Duration = .seconds(5)

    /// A scenario whose stand-in holds its connection to public ecs-a, with `config` written.
    static func scenario(
        _ config: [String: String] = [:],
        vpcAddresses: [IPAddress]? = nil,
        silent: Set<IPAddress> = [],
        vpcBlocks: [String] = [Loopback.vpcCIDR.description],
        agentDockerArguments: [String] = []
    ) async throws -> DaemonScenario {
        let scenario = try await DaemonScenario(
            vpcAddresses: vpcAddresses, silent: silent, vpcBlocks: vpcBlocks, agentDockerArguments: agentDockerArguments)
        try scenario.writeConfig(config)
        try await scenario.waitForAgentConnection(to: scenario.publicAddresses[0])
        return scenario
    }

    @Test("DNS flipping to the endpoints restarts the agent exactly once, at its slot, verified on a VPC address")
    func flipRestartsOnceAtSlot() async throws {
        let scenario = try await Self.scenario(["ECSVPCD_RESTART_WINDOW": "4s"])
        defer { scenario.stop() }

        // An instance whose slot is late in the window, so "not before the slot" is a real wait.
        let (_, offset, key) = try await scenario.setInstanceID(prefix: "0a") { (1.5...3.5).contains($0) }

        try await scenario.startDaemon()
        #expect(scenario.savedStatus()?.configuration == .public)
        #expect(scenario.history.isEmpty)
        try await scenario.route(.vpc)
        // The slot as the daemon states it while it waits (the status saved each cycle).
        var slot: Date?
        try await scenario.waitUntil("the restart is scheduled or done") {
            if let status = scenario.savedStatus(), status.restart?.state == "scheduled" { slot = status.restart?.notBefore }
            return slot != nil || !scenario.history.isEmpty
        }
        let record = try await scenario.waitForRestart()
        #expect(record.result == "verified", "\(record)\n\(scenario.log)")
        #expect(record.via == "docker")

        let ledger = try #require(scenario.ledger())
        #expect(ledger.configurationKey == key)
        let confirmedAt = try #require(ledger.confirmedAt)
        // state.json keeps whole seconds: allow one second either way of the rounding.
        let afterConfirmation = record.at.timeIntervalSince(confirmedAt)
        #expect(afterConfirmation >= offset - 1, "restarted \(afterConfirmation) s after confirmation, slot at \(offset) s")
        let notBefore = try #require(slot, "the daemon never reported the restart as scheduled\n\(scenario.log)")
        #expect(abs(notBefore.timeIntervalSince(confirmedAt) - offset) <= 1, "slot \(notBefore), confirmed \(confirmedAt)")
        #expect(record.at >= notBefore.addingTimeInterval(-1), "restarted at \(record.at), before the slot \(notBefore)")
        // At the first cycles after the slot: a deadline for a loaded machine (1 s cycles), not a speed.
        #expect(record.at <= notBefore.addingTimeInterval(10), "restarted at \(record.at), slot \(notBefore)")
        #expect(scenario.log.contains("restart decision: scheduled"), "\(scenario.log)")

        try await scenario.waitForAgentConnection(to: scenario.vpcAddresses[0])
        try await scenario.waitUntil("the status shows the agent on the endpoint") {
            scenario.savedStatus()?.agent?.connections == "vpc-endpoint"
        }
        #expect(scenario.savedStatus()?.agent?.remoteAddresses == [scenario.vpcAddresses[0]])
        #expect(Loopback.vpcCIDR.contains(scenario.vpcAddresses[0]))

        let started = try await scenario.agent.startedAt()
        try await Task.sleep(for: Self.quiet)
        #expect(scenario.history.count == 1, "\(scenario.history)")
        #expect(try await scenario.agent.startedAt() == started, "the agent was restarted again")
        #expect(scenario.log.components(separatedBy: "restarting the ECS agent via docker").count == 2)
        #expect(scenario.savedStatus()?.restart?.state == "idle")
    }

    @Test("repeated flips between public and the endpoints never restart more often than the budget")
    func repeatedFlipsKeepToBudget() async throws {
        let scenario = try await Self.scenario([
            "ECSVPCD_RESTART_COOLDOWN": "0", "ECSVPCD_RESTART_BUDGET": "2", "ECSVPCD_RESTART_WINDOW": "0",
        ])
        defer { scenario.stop() }
        try await scenario.startDaemon()
        for round in 1...4 {
            try await scenario.route(.vpc)
            if round <= 2 {
                let record = try await scenario.waitForRestart(count: round)
                #expect(record.result == "verified", "round \(round): \(record)")
                try await scenario.waitForAgentConnection(to: scenario.vpcAddresses[0])
            } else {
                try await scenario.waitUntil("round \(round): the restart waits for the budget") {
                    scenario.savedStatus()?.restart?.state == "budget-spent"
                }
                #expect(scenario.savedStatus()?.findings.contains { $0.id == "restart-budget-spent" } == true)
            }
            // Back to public, and the agent back on the public address (restarted by hand, it re-resolves).
            try await scenario.route(.publicAddresses)
            try await scenario.waitUntil("round \(round): public again") { scenario.savedStatus()?.configuration == .public }
            try await DaemonAgentContainer.docker(["restart", "-t", "1", scenario.agent.name])
            try await scenario.waitForAgentConnection(to: scenario.publicAddresses[0])
        }
        try await Task.sleep(for: Self.quiet)
        #expect(scenario.history.count == 2, "\(scenario.history)")
        #expect(scenario.savedStatus()?.restart?.budgetLeft == 0)
    }

    @Test(
        "does not restart when an endpoint address refuses or drops 443: critical, endpoint-not-accepting",
        arguments: ["refused", "timeout"]
    )
    func endpointNotAccepting(_ tcp: String) async throws {
        let bad = tcp == "refused" ? Loopback.vpc() : Loopback.dropped()
        let scenario = try await Self.scenario(
            ["ECSVPCD_RESTART_WINDOW": "0"],
            vpcAddresses: [Loopback.vpc(), bad, Loopback.vpc()], silent: [bad],
            vpcBlocks: [Loopback.vpcCIDR.description, Loopback.droppedCIDR.description]
        )
        defer { scenario.stop() }
        try await scenario.startDaemon()
        let started = try await scenario.agent.startedAt()
        try await scenario.route(.vpc)
        try await scenario.waitUntil("the restart is blocked") { scenario.savedStatus()?.restart?.state == "blocked" }
        try await Task.sleep(for: Self.quiet)
        #expect(scenario.history.isEmpty, "\(scenario.history)")
        #expect(try await scenario.agent.startedAt() == started)

        let (code, document) = try await scenario.status()
        #expect(code == Health.critical.exitCode)
        #expect(document.health == .critical)
        #expect(document.configuration == .vpcEndpoints)
        #expect(document.findings.contains { $0.id == "endpoint-not-accepting" && $0.severity == .critical })
        #expect(document.endpoints.first { $0.name == DaemonScenario.ecsT }?.addresses.first?.tcp == tcp)
        #expect(document.restart?.reason.contains("do not all accept TCP") == true, "\(document.restart as Any)")
        #expect(scenario.log.contains("endpoint-not-accepting"))
    }

    @Test("only ecs-a on the endpoints (partial) does not restart the agent")
    func partialDoesNotRestart() async throws {
        let scenario = try await Self.scenario(["ECSVPCD_RESTART_WINDOW": "0"])
        defer { scenario.stop() }
        try await scenario.startDaemon()
        let started = try await scenario.agent.startedAt()
        try await scenario.route(.vpc, only: [DaemonScenario.ecsA])
        try await scenario.waitUntil("the configuration is partial") { scenario.savedStatus()?.configuration == .partial }
        try await Task.sleep(for: Self.quiet)
        #expect(scenario.history.isEmpty, "\(scenario.history)")
        #expect(try await scenario.agent.startedAt() == started)
        let status = try #require(scenario.savedStatus())
        #expect(status.restart?.state == "idle")
        #expect(status.restart?.reason.contains("only some endpoints") == true, "\(status.restart as Any)")
        #expect(!scenario.log.contains("restarting the ECS agent"))
    }

    @Test("ECSVPCD_RESTART=never reports the restart as pending with its time and never restarts")
    func restartNeverIsPending() async throws {
        let scenario = try await Self.scenario(["ECSVPCD_RESTART": "never", "ECSVPCD_RESTART_WINDOW": "2s"])
        defer { scenario.stop() }
        try await scenario.startDaemon()
        let started = try await scenario.agent.startedAt()
        try await scenario.route(.vpc)
        try await scenario.waitUntil("the restart is pending") { scenario.savedStatus()?.restart?.state == "pending" }
        try await Task.sleep(for: Self.quiet)
        #expect(scenario.history.isEmpty, "\(scenario.history)")
        #expect(try await scenario.agent.startedAt() == started)
        let (_, document) = try await scenario.status()
        #expect(document.restart?.state == "pending")
        let notBefore = try #require(document.restart?.notBefore)
        let confirmedAt = try #require(scenario.ledger()?.confirmedAt)
        #expect(notBefore >= confirmedAt)
        #expect(document.summary.contains("restart pending"), "\(document.summary)")
        #expect(!scenario.log.contains("restarting the ECS agent"))
    }

    @Test("an agent configured with a proxy that NO_PROXY does not exempt is not restarted: proxy-bypasses-endpoints")
    func proxyBlocksRestart() async throws {
        let scenario = try await Self.scenario(["ECSVPCD_RESTART_WINDOW": "0"])
        defer { scenario.stop() }
        try scenario.directory.write("ecs.config", "ECS_CLUSTER=sandbox\nHTTPS_PROXY=http://127.0.0.1:3128\n")
        try await scenario.startDaemon()
        let started = try await scenario.agent.startedAt()
        try await scenario.route(.vpc)
        try await scenario.waitUntil("the restart is blocked by the proxy") {
            scenario.savedStatus()?.restart?.state == "blocked"
        }
        try await Task.sleep(for: Self.quiet)
        #expect(scenario.history.isEmpty, "\(scenario.history)")
        #expect(try await scenario.agent.startedAt() == started)
        let (_, document) = try await scenario.status()
        #expect(document.findings.contains { $0.id == "proxy-bypasses-endpoints" }, "\(document.findings)")
        #expect(document.restart?.reason.contains("proxy") == true)
        #expect(document.agent?.proxy != nil)
    }

    @Test("ecsvpcd killed during a restart: the next start finds the in-flight restart, the agent runs, history says interrupted")
    func killedDuringRestartRecovers() async throws {
        // The stand-in ignores the stop signal, so Docker's restart waits out its stop timeout: a slow restart.
        let scenario = try await Self.scenario(
            ["ECSVPCD_RESTART_WINDOW": "0"], agentDockerArguments: ["--stop-signal", "SIGUSR2"])
        defer { scenario.stop() }
        let first = try await scenario.startDaemon()
        try await scenario.route(.vpc)
        try await scenario.waitUntil("the restart starts") { scenario.log.contains("restarting the ECS agent via docker") }
        first.signal(SIGKILL)
        #expect(try await first.waitForExit(timeout: .seconds(5)))
        let inFlight = try #require(scenario.ledger()?.inFlight, "the in-flight record is saved before the restart")
        #expect(inFlight.via == "docker")
        #expect(try await scenario.agent.isRunning())

        try await scenario.startDaemon()
        let record = try await scenario.waitForRestart()
        #expect(record.result == "interrupted")
        #expect(record.at == inFlight.startedAt)
        #expect(record.detail?.contains("ecsvpcd stopped during this restart") == true, "\(record)")
        #expect(scenario.ledger()?.inFlight == nil)
        #expect(scenario.log.contains("found an interrupted restart"), "\(scenario.log)")
        #expect(try await scenario.agent.isRunning())
    }

    @Test("ecsvpcd killed during a restart that left the agent stopped: the next start starts the agent")
    func killedDuringRestartStartsStoppedAgent() async throws {
        let scenario = try await Self.scenario(["ECSVPCD_RESTART_WINDOW": "0"])
        defer { scenario.stop() }
        let before = try await scenario.agent.startedAt()
        let first = try await scenario.startDaemon()
        try await scenario.route(.vpc)
        try await scenario.waitUntil("the restart starts") { scenario.log.contains("restarting the ECS agent via docker") }
        first.signal(SIGKILL)
        #expect(try await first.waitForExit(timeout: .seconds(5)))
        #expect(scenario.ledger()?.inFlight != nil)
        // Let Docker finish (or drop) the restart it was asked for, then leave the agent stopped, as a restart
        // cut between its stop and its start would.
        let settle = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < settle, try await scenario.agent.startedAt() == before {
            try await Task.sleep(for: .milliseconds(200))
        }
        try await DaemonAgentContainer.docker(["stop", "-t", "1", scenario.agent.name])
        #expect(try await !scenario.agent.isRunning())

        try await scenario.startDaemon()
        let record = try await scenario.waitForRestart()
        #expect(record.result == "interrupted")
        #expect(record.detail?.contains("the agent was not running, so ecsvpcd started it") == true, "\(record)")
        #expect(scenario.log.contains("left stopped by an interrupted restart"), "\(scenario.log)")
        #expect(try await scenario.agent.isRunning())
    }

    @Test("a restart left in flight is finished while instance metadata cannot be read: the stopped agent is started")
    func recoversWithoutInstanceMetadata() async throws {
        // Recovery used to wait for the first cycle to learn the instance context, and was given up after that
        // cycle: instance metadata down at boot left the agent stopped for good.
        let scenario = try await Self.scenario(["ECSVPCD_IMDS_ENDPOINT": "http://127.0.0.1:9"])
        defer { scenario.stop() }
        var ledger = RestartLedger()
        ledger.inFlight = RestartLedger.InFlight(
            startedAt: Date(timeIntervalSinceNow: -60), via: "docker", reason: "test: killed mid-restart",
            previousAgentStart: nil
        )
        try StateStore(directory: scenario.stateDir).saveLedger(ledger)
        try await DaemonAgentContainer.docker(["stop", "-t", "1", scenario.agent.name])
        #expect(try await !scenario.agent.isRunning())

        try await scenario.startDaemon(waitForStatus: false)
        let record = try await scenario.waitForRestart()
        #expect(record.result == "interrupted")
        #expect(record.detail?.contains("the agent was not running, so ecsvpcd started it via docker") == true, "\(record)")
        #expect(scenario.ledger()?.inFlight == nil)
        #expect(try await scenario.agent.isRunning())
        // The recovery came first in the cycle; the cycle then reports that it cannot learn the instance context.
        try await scenario.waitUntil("the daemon reports the instance context unknown") {
            try await scenario.status().document.findings.contains { $0.id == "instance-context-unknown" }
        }
    }

    @Test("a restart left in flight by a rollout killed while the daemon runs is finished by the daemon's next cycle")
    func recoversARolloutKilledLater() async throws {
        let scenario = try await Self.scenario(["ECSVPCD_RESTART_WINDOW": "1h"])
        defer { scenario.stop() }
        try await scenario.startDaemon()
        // Written under the restart lock, as a rollout does: the daemon reads and writes the ledger under it too.
        do {
            let lock = try #require(try await RestartLock.acquire(stateDir: scenario.stateDir, wait: .seconds(10)))
            var ledger = scenario.ledger() ?? RestartLedger()
            ledger.inFlight = RestartLedger.InFlight(
                startedAt: Date(timeIntervalSinceNow: -5), via: "docker", reason: "test: a rollout killed mid-restart",
                previousAgentStart: nil
            )
            try StateStore(directory: scenario.stateDir).saveLedger(ledger)
            withExtendedLifetime(lock) {}
        }
        let record = try await scenario.waitForRestart()
        #expect(record.result == "interrupted")
        #expect(record.detail?.contains("found by ecsvpcd") == true, "\(record)")
        #expect(scenario.ledger()?.inFlight == nil)
        #expect(try await scenario.agent.isRunning())
    }

    @Test("SIGTERM while a restart is being verified: ecsvpcd stops at once and records the restart unverified")
    func sigtermDuringVerification() async throws {
        // The stand-in ignores the stop signal, so Docker's restart call waits out its 30 s stop timeout: time to
        // make the names public again before the agent comes back and resolves them. The restarted agent then
        // connects publicly, and the verification would wait its whole 2 minutes.
        let scenario = try await Self.scenario(
            ["ECSVPCD_RESTART_WINDOW": "0"], agentDockerArguments: ["--stop-signal", "SIGUSR2"])
        defer { scenario.stop() }
        let before = try await scenario.agent.startedAt()
        let daemon = try await scenario.startDaemon()
        try await scenario.route(.vpc)
        try await scenario.waitUntil("the restart starts") { scenario.log.contains("restarting the ECS agent via docker") }
        try await scenario.route(.publicAddresses)
        try await scenario.waitUntil("the agent restarted", timeout: .seconds(60)) {
            try await scenario.agent.startedAt() != before
        }
        try await Task.sleep(for: .seconds(1))
        #expect(scenario.ledger()?.inFlight != nil, "still verifying")
        let stopAsked = ContinuousClock.now
        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit(timeout: .seconds(20)), "ecsvpcd did not stop within 20 s of SIGTERM")
        #expect(ContinuousClock.now - stopAsked < .seconds(20))
        #expect(daemon.exitDescription == "exit 0", "\(scenario.log)")
        let record = try #require(scenario.history.last, "\(scenario.log)")
        #expect(record.result == "unverified", "\(record)")
        #expect(record.detail?.contains("ecsvpcd stopped before the restart was verified") == true, "\(record)")
        #expect(scenario.ledger()?.inFlight == nil)
        #expect(try await scenario.agent.isRunning())
    }

    @Test("a system bus that refuses (dbus restarting): auto makes no Docker restart behind ecs.service; blocked, said once")
    func refusingBusBlocksRestart() async throws {
        let scenario = try await Self.scenario(["ECSVPCD_RESTART_WINDOW": "0", "ECSVPCD_RESTART_VIA": "auto"])
        defer { scenario.stop() }
        // A unix socket that exists but listens to nobody: connect(2) is refused, as while dbus-daemon restarts.
        // (Outside systemd there is no bus socket at all, and auto rightly takes Docker.)
        let socketPath = scenario.directory.file("system_bus_socket")
        let bind = Process()
        bind.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        bind.arguments = ["-c", "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", socketPath]
        try bind.run()
        bind.waitUntilExit()
        #expect(bind.terminationStatus == 0)
        try await scenario.startDaemon(environment: ["DBUS_SYSTEM_BUS_ADDRESS": "unix:path=\(socketPath)"])
        try await scenario.route(.vpc)
        try await scenario.waitUntil("the restart is blocked") { scenario.savedStatus()?.restart?.state == "blocked" }
        let reason = scenario.savedStatus()?.restart?.reason ?? ""
        #expect(reason.contains("systemd cannot be asked whether ecs.service supervises the agent"), "\(reason)")
        try await Task.sleep(for: Self.quiet)
        #expect(scenario.history.isEmpty)
        #expect(!scenario.log.contains("restarting the ECS agent"), "\(scenario.log)")
        #expect(scenario.log.components(separatedBy: "restart decision: blocked").count == 2, "\(scenario.log)")
    }

    @Test("dockerd unreachable during the restart: recorded failed with the error, agent still running, retried after the cooldown")
    func dockerUnreachableDuringRestart() async throws {
        let scenario = try await Self.scenario()
        defer { scenario.stop() }
        let forwarder = try await DockerSocketForwarder(upstream: scenario.dockerHost)
        defer { forwarder.stop() }
        try scenario.writeConfig([
            "ECSVPCD_DOCKER_HOST": forwarder.host, "ECSVPCD_RESTART_WINDOW": "0", "ECSVPCD_RESTART_COOLDOWN": "4s",
        ])
        forwarder.mode = "fail-restart"
        try await scenario.startDaemon()
        let before = try await scenario.agent.startedAt()
        try await scenario.route(.vpc)

        let failed = try await scenario.waitForRestart()
        #expect(failed.result == "failed")
        #expect(failed.detail?.contains("the restart call failed") == true, "\(failed)")
        #expect(forwarder.mode == "down")
        #expect(scenario.log.contains("agent restart via docker failed"), "\(scenario.log)")
        #expect(try await scenario.agent.isRunning())
        #expect(try await scenario.agent.startedAt() == before, "the restart never reached dockerd")
        try await Task.sleep(for: .seconds(1))
        #expect(scenario.history.count == 1)

        forwarder.mode = "up"
        let retried = try await scenario.waitForRestart(count: 2)
        #expect(retried.result == "verified", "\(retried)\n\(scenario.log)")
        // Whole seconds in state.json: one second of rounding.
        #expect(retried.at.timeIntervalSince(failed.at) >= 4 - 1, "retried \(retried.at.timeIntervalSince(failed.at)) s after the failure")
        try await scenario.waitForAgentConnection(to: scenario.vpcAddresses[0])
    }

    @Test("a corrupt state file is moved aside with an error in the log, and the daemon runs")
    func corruptStateMovedAside() async throws {
        let scenario = try await Self.scenario()
        defer { scenario.stop() }
        try FileManager.default.createDirectory(atPath: scenario.stateDir, withIntermediateDirectories: true)
        try "{ this is not json".write(toFile: scenario.stateDir + "/state.json", atomically: true, encoding: .utf8)
        let daemon = try await scenario.startDaemon()
        let aside = try FileManager.default.contentsOfDirectory(atPath: scenario.stateDir).filter {
            $0.hasPrefix("state.json.corrupt-")
        }
        #expect(aside.count == 1)
        if let name = aside.first {
            #expect(try String(contentsOfFile: scenario.stateDir + "/" + name, encoding: .utf8) == "{ this is not json")
        }
        #expect(scenario.log.contains("ERROR The state file"), "\(scenario.log)")
        #expect(scenario.log.contains("cannot be read"))
        #expect(daemon.isRunning)
        let (code, document) = try await scenario.status()
        #expect(code == Health.ok.exitCode)
        #expect(document.source == "daemon")
        #expect(scenario.ledger() != nil, "a fresh state file is written")
    }

    @Test("SIGHUP with a bad configuration keeps the old one; with a good changed one applies it")
    func reloadOnSIGHUP() async throws {
        let scenario = try await Self.scenario()
        defer { scenario.stop() }
        let daemon = try await scenario.startDaemon()
        #expect(try await scenario.status().document.restart?.budgetLeft == 3)

        // The status client reads the configuration too: it keeps a good copy.
        let clientConfig = scenario.directory.file("client.conf")
        try FileManager.default.copyItem(atPath: scenario.configPath, toPath: clientConfig)
        try scenario.writeConfig(["ECSVPCD_INTERVAL": "forever"])
        daemon.signal(SIGHUP)
        try await scenario.waitUntil("the reload fails") { scenario.log.contains("configuration reload failed") }
        let failedAt = Date()
        #expect(scenario.log.contains("bad value ECSVPCD_INTERVAL"), "\(scenario.log)")
        #expect(daemon.isRunning)
        try await Task.sleep(for: .seconds(2))
        #expect(daemon.isRunning)
        let (code, kept) = try await scenario.status(config: clientConfig)
        // Still observing: a status saved by a cycle after the failed reload (status.json keeps whole seconds, and
        // is rewritten at most once a second while unchanged), waited for rather than timed on a loaded machine.
        try await scenario.waitUntil("a cycle after the failed reload saves its status", timeout: .seconds(15)) {
            scenario.savedStatus().map { $0.updatedAt >= failedAt.addingTimeInterval(1) } ?? false
        }
        #expect(code == Health.ok.exitCode)
        #expect(kept.restart?.budgetLeft == 3)

        try scenario.writeConfig(["ECSVPCD_INTERVAL": "1s", "ECSVPCD_RESTART_BUDGET": "1"])
        daemon.signal(SIGHUP)
        try await scenario.waitUntil("the reload succeeds") { scenario.log.contains("configuration reloaded from") }
        try await scenario.waitUntil("the new budget shows") { scenario.savedStatus()?.restart?.budgetLeft == 1 }
        #expect(try await scenario.status().document.restart?.budgetLeft == 1)
        #expect(daemon.isRunning)
        // A reload is not a start: "started" once, and what lasted through the reloads is not reported again.
        #expect(scenario.log.components(separatedBy: " started: ").count == 2, "\(scenario.log)")
        #expect(scenario.log.components(separatedBy: "endpoint configuration is ").count == 2, "\(scenario.log)")
    }

    @Test("after a bad edit the daemon refused: status, reprobe and restart-agent still reach it, with the error as a warning")
    func clientsReachDaemonDespiteBadEdit() async throws {
        let scenario = try await Self.scenario()
        defer { scenario.stop() }
        let daemon = try await scenario.startDaemon()
        try await scenario.waitUntil("a first status is saved") { scenario.savedStatus() != nil }
        try scenario.writeConfig(["ECSVPCD_INTERVAL": "forever"])
        daemon.signal(SIGHUP)
        try await scenario.waitUntil("the reload fails") { scenario.log.contains("configuration reload failed") }

        // The table: the daemon's answer, with the file's problem under "configuration" and in full on stderr.
        let table = try await scenario.command(["status"])
        #expect(table.status == Health.ok.exitCode, "the health code, not 78: \(table.stderr)")
        #expect(table.stdout.contains("config file IN ERROR: \(scenario.configPath):"), "\(table.stdout)")
        #expect(table.stdout.contains("OK  "), "\(table.stdout)")
        #expect(!table.stdout.contains("not running"), "\(table.stdout)")
        #expect(table.stderr.contains("configuration error: \(scenario.configPath):"), "\(table.stderr)")
        #expect(table.stderr.contains("bad value ECSVPCD_INTERVAL"), "\(table.stderr)")
        #expect(table.stderr.contains("systemctl reload ecsvpcd"), "\(table.stderr)")

        // --json: the daemon's document alone on stdout, the warning on stderr.
        let (code, document) = try await scenario.status()
        #expect(code == Health.ok.exitCode)
        #expect(document.source != "saved-state")
        #expect(document.restart?.budgetLeft == 3)

        let reprobe = try await scenario.command(["reprobe"])
        #expect(reprobe.status == 0, "\(reprobe.stderr)")
        #expect(reprobe.stderr.contains("bad value ECSVPCD_INTERVAL"), "\(reprobe.stderr)")
        // The daemon takes the request (its answer is on stdout); the names are public, so its checks keep the agent.
        let restart = try await scenario.command(["restart-agent", "--reason", "test"])
        #expect(restart.status == 0, "\(restart.stdout)\(restart.stderr)")
        #expect(restart.stdout.contains("restart requested"), "\(restart.stdout)")
        #expect(restart.stderr.contains("bad value ECSVPCD_INTERVAL"), "\(restart.stderr)")
        try await Task.sleep(for: .seconds(2))
        #expect(scenario.history.isEmpty, "\(scenario.history)")
        #expect(daemon.isRunning)

        // No daemon: the saved status, exit 3 (unknown), and still the warning.
        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit(timeout: .seconds(20)))
        let saved = try await scenario.command(["status"])
        #expect(saved.status == Health.unknown.exitCode)
        #expect(saved.stdout.contains("last saved status"), "\(saved.stdout)")
        #expect(saved.stdout.contains("config file IN ERROR"), "\(saved.stdout)")
        #expect(saved.stderr.contains("bad value ECSVPCD_INTERVAL"), "\(saved.stderr)")

        // `run` and `check` act on the configuration: they still refuse it (78).
        let check = try await scenario.command(["check"])
        #expect(check.status == 78, "\(check.stdout)\(check.stderr)")
    }

    @Test("ecsvpcd restarted after a verified restart does not restart the agent again")
    func daemonRestartAfterVerified() async throws {
        let scenario = try await Self.scenario(["ECSVPCD_RESTART_WINDOW": "0"])
        defer { scenario.stop() }
        let first = try await scenario.startDaemon()
        try await scenario.route(.vpc)
        let record = try await scenario.waitForRestart()
        #expect(record.result == "verified", "\(record)")
        let started = try await scenario.agent.startedAt()
        first.signal(SIGTERM)
        #expect(try await first.waitForExit(timeout: .seconds(5)))
        #expect(first.exitDescription == "exit 0")

        try await scenario.startDaemon()
        try await Task.sleep(for: Self.quiet)
        #expect(scenario.history.count == 1, "\(scenario.history)")
        #expect(try await scenario.agent.startedAt() == started)
        let status = try #require(scenario.savedStatus())
        #expect(status.restart?.state == "idle")
        #expect(status.agent?.connections == "vpc-endpoint")
        #expect(scenario.log.components(separatedBy: "restarting the ECS agent").count == 2)
    }

    @Test("status --json while running is schema 1 with endpoints, agent and restart; SIGTERM exits 0 promptly")
    func statusAndSIGTERM() async throws {
        let scenario = try await Self.scenario()
        defer { scenario.stop() }
        let daemon = try await scenario.startDaemon()
        let run = try await scenario.command(["status", "--json"])
        #expect(run.status == Health.ok.exitCode, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(json["schema"] as? Int == 1)
        #expect(json["source"] as? String == "daemon")
        #expect((json["endpoints"] as? [Any])?.count == 3)
        let agent = try #require(json["agent"] as? [String: Any])
        #expect(agent["running"] as? Bool == true)
        #expect(agent["connections"] as? String == "public")
        #expect(agent["supervisor"] as? String == "docker")
        let restart = try #require(json["restart"] as? [String: Any])
        #expect(restart["state"] as? String == "idle")
        #expect((restart["history"] as? [Any])?.isEmpty == true)
        #expect((json["instance"] as? [String: Any])?["id"] as? String == scenario.instanceID)

        let stopAsked = ContinuousClock.now
        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit(timeout: .seconds(5)), "ecsvpcd did not stop within 5 s of SIGTERM")
        #expect(daemon.exitDescription == "exit 0", "\(scenario.log)")
        #expect(ContinuousClock.now - stopAsked < .seconds(5))
        #expect(scenario.log.contains("ecsvpcd stopping"))
    }
}
