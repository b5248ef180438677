import ECSVPCCore
import ECSVPCD
import Foundation
import Testing

/// `ecsvpcd rollout --json` end to end: the built binary against the same peers as the daemon tests (dnsmasq,
/// the IMDSv2 emulator, loopback listeners, a stand-in agent on the run's dockerd; see `DaemonScenario`),
/// restarting through the Docker Engine.
@Suite("ecsvpcd rollout end to end: exit codes, one verified restart, the daemon's lock and ledger")
struct RolloutTests {
    /// A scenario whose stand-in holds its connection to public ecs-a (unless `pinnedTo` holds it instead).
    static func scenario(
        _ config: [String: String] = [:],
        vpcAddresses: [IPAddress]? = nil,
        silent: Set<IPAddress> = [],
        vpcBlocks: [String] = [Loopback.vpcCIDR.description],
        pinnedTo pinned: TCPListener? = nil
    ) async throws -> DaemonScenario {
        let scenario = try await DaemonScenario(
            vpcAddresses: vpcAddresses, silent: silent, vpcBlocks: vpcBlocks,
            agentDockerArguments: pinned.map { ["-e", "PROBE_ADDRESS=\($0.address)"] } ?? [])
        try scenario.writeConfig(config)
        if let pinned {
            try await scenario.waitUntil("the stand-in agent connects to \(pinned.address)") { pinned.openConnections > 0 }
        } else {
            try await scenario.waitForAgentConnection(to: scenario.publicAddresses[0])
        }
        return scenario
    }

    @Test("a public configuration: exit 2, no-usable-endpoints, and no restart")
    func publicConfigurationExits2() async throws {
        let scenario = try await Self.scenario()
        defer { scenario.stop() }
        let started = try await scenario.agent.startedAt()

        let run = try await scenario.rollout()
        #expect(run.code == 2, "\(run.stderr)")
        #expect(run.outcome.result == "no-usable-endpoints")
        #expect(run.outcome.configuration == .public)
        #expect(run.outcome.instanceID == scenario.instanceID)
        #expect(run.outcome.restart == nil)
        #expect(run.outcome.message.contains("no usable endpoints"), "\(run.outcome.message)")
        #expect(scenario.history.isEmpty, "\(scenario.history)")
        #expect(try await scenario.agent.startedAt() == started)
        #expect(!run.stderr.contains("restarting the ECS agent"))
        // One line, what matters first: Run Command keeps only the first 2,500 characters of the output.
        #expect(run.stdout.hasPrefix("{\"schema\":1,\"result\":\"no-usable-endpoints\",\"exitCode\":2,\"message\":"), "\(run.stdout)")
        #expect(run.stdout.filter { $0 == "\n" }.count == 1, "\(run.stdout)")
        let findings = try #require(run.stdout.range(of: "\"findings\""))
        #expect(run.stdout[findings.upperBound...].contains("\"message\"") == false, "findings come last")
    }

    @Test("instance metadata unreachable: exit 2, instance-context-unknown, not blamed on the endpoints")
    func instanceMetadataDown() async throws {
        let scenario = try await Self.scenario(["ECSVPCD_IMDS_ENDPOINT": "http://127.0.0.1:9"])
        defer { scenario.stop() }
        let run = try await scenario.rollout()
        #expect(run.code == 2, "\(run.stderr)")
        #expect(run.outcome.result == "instance-context-unknown", "\(run.outcome)")
        #expect(run.outcome.message.contains("ECSVPCD_REGION"), "\(run.outcome.message)")
        #expect(run.outcome.error?.id == "instance-context-unknown", "\(run.outcome)")
        #expect(scenario.history.isEmpty)
    }

    @Test("the switch: one restart via docker, verified on the VPC address, exit 0; a second rollout does nothing")
    func switchRestartsOnceThenNothing() async throws {
        let scenario = try await Self.scenario()
        defer { scenario.stop() }
        let before = try await scenario.agent.startedAt()
        try await scenario.route(.vpc)

        let first = try await scenario.rollout()
        #expect(first.code == 0, "\(first.outcome)\n\(first.stderr)")
        #expect(first.outcome.result == "restarted")
        #expect(first.outcome.configuration == .vpcEndpoints)
        let record = try #require(first.outcome.restart)
        #expect(record.result == "verified", "\(record)")
        #expect(record.via == "docker")
        #expect(record.reason.contains("ecsvpcd rollout"), "\(record.reason)")
        #expect(record.detail?.contains(scenario.vpcAddresses[0].description) == true, "\(record)")
        #expect(scenario.history.count == 1, "\(scenario.history)")
        #expect(scenario.history.first?.result == "verified")
        #expect(scenario.ledger()?.inFlight == nil)
        let after = try await scenario.agent.startedAt()
        #expect(after != before, "the agent was not restarted")
        #expect(scenario.connections(to: scenario.vpcAddresses[0]) > 0)
        #expect(scenario.connections(to: scenario.publicAddresses[0]) == 0)

        let stateBefore = FileManager.default.contents(atPath: scenario.stateDir + "/state.json")
        let second = try await scenario.rollout()
        #expect(second.code == 0, "\(second.outcome)\n\(second.stderr)")
        #expect(second.outcome.result == "already-on-endpoints")
        #expect(second.outcome.restart == nil)
        #expect(try await scenario.agent.startedAt() == after, "the second rollout restarted the agent")
        #expect(scenario.history.count == 1, "\(scenario.history)")
        #expect(FileManager.default.contents(atPath: scenario.stateDir + "/state.json") == stateBefore)
    }

    @Test(
        "an endpoint address refusing or dropping 443: exit 2 and no restart",
        arguments: ["refused", "timeout"]
    )
    func endpointNotAcceptingExits2(_ tcp: String) async throws {
        let bad = tcp == "refused" ? Loopback.vpc() : Loopback.dropped()
        let scenario = try await Self.scenario(
            vpcAddresses: [Loopback.vpc(), bad, Loopback.vpc()], silent: [bad],
            vpcBlocks: [Loopback.vpcCIDR.description, Loopback.droppedCIDR.description]
        )
        defer { scenario.stop() }
        let started = try await scenario.agent.startedAt()
        try await scenario.route(.vpc)

        let run = try await scenario.rollout()
        #expect(run.code == 2, "\(run.outcome)\n\(run.stderr)")
        #expect(run.outcome.result == "no-usable-endpoints")
        #expect(run.outcome.configuration == .vpcEndpoints)
        #expect(run.outcome.restart == nil)
        #expect(run.outcome.findings.contains { $0.id == "endpoint-not-accepting" && $0.severity == .critical })
        #expect(run.outcome.message.contains("\(DaemonScenario.probePort)"), "\(run.outcome.message)")
        #expect(scenario.history.isEmpty, "\(scenario.history)")
        #expect(try await scenario.agent.startedAt() == started)
        #expect(scenario.connections(to: scenario.publicAddresses[0]) > 0, "the agent keeps its public connection")
    }

    @Test("the agent comes back on a public address: exit 1, recorded failed; a rollout right after waits for the cooldown")
    func verificationFailureExits1() async throws {
        // The stand-in ignores DNS and always connects to this "public" address, so no restart can move it.
        let pinned = Loopback.publicAddress()
        let listener = try TCPListener(address: pinned, port: DaemonScenario.probePort)
        defer { listener.close() }
        let scenario = try await Self.scenario(pinnedTo: listener)
        defer { scenario.stop() }
        let before = try await scenario.agent.startedAt()
        try await scenario.route(.vpc)

        let clock = ContinuousClock.now
        let run = try await scenario.rollout(verifyTimeout: "4s")
        let took = ContinuousClock.now - clock
        #expect(run.code == 1, "\(run.outcome)\n\(run.stderr)")
        #expect(run.outcome.result == "verification-failed")
        let record = try #require(run.outcome.restart)
        #expect(record.result == "failed")
        #expect(record.detail?.contains("not verified within 4s") == true, "\(record)")
        #expect(record.detail?.contains("public") == true, "\(record)")
        #expect(record.detail?.contains(pinned.description) == true, "\(record)")
        #expect(took >= .seconds(4), "gave up after \(took)")
        #expect(took < .seconds(30), "--verify-timeout 4s took \(took)")
        #expect(scenario.history.map(\.result) == ["failed"])
        #expect(try await scenario.agent.startedAt() != before, "the agent was restarted once")
        #expect(run.stderr.contains("agent restart via docker failed"), "\(run.stderr)")

        let restartedAt = try await scenario.agent.startedAt()
        let again = try await scenario.rollout(verifyTimeout: "4s")
        #expect(again.code == 1, "\(again.outcome)\n\(again.stderr)")
        #expect(again.outcome.result == "not-restarted")
        #expect(again.outcome.message.contains("cooldown"), "\(again.outcome.message)")
        #expect(scenario.history.count == 1, "\(scenario.history)")
        #expect(try await scenario.agent.startedAt() == restartedAt)
    }

    @Test("rollout while the daemon waits for a distant slot: one restart in the shared history, none from the daemon after")
    func rolloutBesideTheDaemon() async throws {
        let scenario = try await Self.scenario(["ECSVPCD_RESTART_WINDOW": "1h"])
        defer { scenario.stop() }
        // An instance whose slot is at least 20 minutes after confirmation.
        let (instanceID, _, _) = try await scenario.setInstanceID(prefix: "0b") { $0 > 1200 }

        let daemon = try await scenario.startDaemon()
        try await scenario.route(.vpc)
        try await scenario.waitUntil("the daemon schedules the restart for its slot") {
            scenario.savedStatus()?.restart?.state == "scheduled"
        }
        let notBefore = try #require(scenario.savedStatus()?.restart?.notBefore)
        #expect(notBefore > Date().addingTimeInterval(1000))
        let before = try await scenario.agent.startedAt()

        let run = try await scenario.rollout()
        #expect(run.code == 0, "\(run.outcome)\n\(run.stderr)\n--- daemon ---\n\(scenario.log)")
        #expect(run.outcome.result == "restarted")
        #expect(run.outcome.restart?.result == "verified")
        #expect(run.outcome.instanceID == instanceID)
        #expect(try await scenario.agent.startedAt() != before)

        try await scenario.waitUntil("the daemon sees the agent on the endpoint") {
            scenario.savedStatus()?.agent?.connections == "vpc-endpoint" && scenario.savedStatus()?.restart?.state == "idle"
        }
        let after = try await scenario.agent.startedAt()
        try await Task.sleep(for: DaemonTests.quiet)
        #expect(daemon.isRunning)
        #expect(scenario.history.count == 1, "\(scenario.history)")
        #expect(scenario.history.first?.reason.contains("ecsvpcd rollout") == true)
        #expect(try await scenario.agent.startedAt() == after, "the daemon restarted the agent again")
        #expect(!scenario.log.contains("restarting the ECS agent"), "\(scenario.log)")
        let (_, document) = try await scenario.status()
        #expect(document.restart?.history.count == 1)
        #expect(document.restart?.budgetLeft == 2, "the rollout's restart counts against the daemon's budget")
    }

    @Test("a restart left in flight by a killed ecsvpcd is recorded as interrupted, and its cooldown applies: exit 1")
    func interruptedRestartRecorded() async throws {
        let scenario = try await Self.scenario()
        defer { scenario.stop() }
        let started = try await scenario.agent.startedAt()
        var ledger = RestartLedger()
        let cut = Date().addingTimeInterval(-30)
        ledger.inFlight = .init(startedAt: cut, via: "docker", reason: "an earlier rollout", previousAgentStart: nil)
        try StateStore(directory: scenario.stateDir).saveLedger(ledger)
        try await scenario.route(.vpc)

        let run = try await scenario.rollout()
        #expect(run.code == 1, "\(run.outcome)\n\(run.stderr)")
        #expect(run.outcome.result == "not-restarted")
        #expect(run.outcome.message.contains("cooldown"), "\(run.outcome.message)")
        let saved = try #require(scenario.ledger())
        #expect(saved.inFlight == nil)
        #expect(saved.history.map(\.result) == ["interrupted"])
        #expect(saved.history.first?.reason == "an earlier rollout")
        #expect(abs(saved.history[0].at.timeIntervalSince(cut)) < 1)
        #expect(try await scenario.agent.startedAt() == started)
    }

    @Test("bad --max-wait or --verify-timeout: exit 64 before anything is observed")
    func badDurationsExit64() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("ecsvpcd.conf", "ECSVPCD_REGION=us-east-1\n")
        for arguments in [["--max-wait", "soon"], ["--verify-timeout", "0"], ["--verify-timeout", "2 minutes"]] {
            let run = try await CommandRun.run(["rollout", "--json"] + arguments + ["--config", directory.file("ecsvpcd.conf")])
            #expect(run.status == 64, "\(arguments): \(run.stderr)")
            // --json: the outcome line all the same, a usage error.
            let outcome = try JSONDecoder().decode(Rollout.Outcome.self, from: Data(run.stdout.utf8))
            #expect(outcome.result == "usage" && outcome.exitCode == 64 && outcome.error?.id == "usage", "\(run.stdout)")
            #expect(run.stderr.contains(arguments[0]), "\(run.stderr)")
        }
    }
}

/// One `ecsvpcd rollout --json` run: its exit code, the decoded outcome and what it logged.
struct RolloutRun {
    var code: Int32
    var outcome: Rollout.Outcome
    var stderr: String
    var stdout = ""
}

extension DaemonScenario {
    /// Runs `ecsvpcd rollout --json --verify-timeout D` (the built binary) with the scenario's configuration.
    func rollout(verifyTimeout: String = "20s", _ arguments: [String] = []) async throws -> RolloutRun {
        let run = try await command(["rollout", "--json", "--verify-timeout", verifyTimeout] + arguments)
        do {
            let outcome = try StatusDocument.decoder().decode(Rollout.Outcome.self, from: Data(run.stdout.utf8))
            return RolloutRun(code: run.status, outcome: outcome, stderr: run.stderr, stdout: run.stdout)
        } catch {
            throw HarnessFailure("rollout --json exited \(run.status): \(error)\nstdout: \(run.stdout)\nstderr: \(run.stderr)")
        }
    }
}
