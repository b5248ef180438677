import ECSVPCCore
import FoundationEssentials
import Glibc
import Logging

/// `ecsvpcd rollout`: one observation, the same decision and safety checks as the daemon, a restart if needed,
/// verification, and an exit code a fleet tool (Systems Manager Run Command) can act on.
///
/// The restart slot is replaced by a random wait up to `maxWait`, and confirmation by this one observation (the
/// operator starts a rollout after creating the endpoints). Cooldown and budget are the daemon's, read from the
/// same state directory under the same lock, so a rollout and a running daemon never restart twice.
public struct Rollout: Sendable {
    public struct Outcome: Sendable, Codable {
        /// `restarted`, `already-on-endpoints`, `no-usable-endpoints`, `instance-context-unknown`,
        /// `verification-failed`, `not-restarted`.
        public var result: String
        public var exitCode: Int32
        public var message: String
        public var instanceID: String?
        public var configuration: EndpointConfiguration?
        public var restart: StatusDocument.RestartRecord?
        public var findings: [Finding]
        /// Set when the rollout could not run at all (`instance-context-unknown`, `configuration-invalid`, `usage`):
        /// the same `{id, message, hint}` as `check --json` and `status --json` give on failure.
        public var error: ErrorDocument.Detail?

        public init(
            result: String, exitCode: Int32, message: String, instanceID: String?, configuration: EndpointConfiguration?,
            restart: StatusDocument.RestartRecord?, findings: [Finding], error: ErrorDocument.Detail? = nil
        ) {
            self.result = result
            self.exitCode = exitCode
            self.message = message
            self.instanceID = instanceID
            self.configuration = configuration
            self.restart = restart
            self.findings = findings
            self.error = error
        }

        /// The outcome of a rollout that could not run (`ecsvpcd rollout --json` with a bad configuration or option).
        public init(failure: CommandFailure) {
            self.init(
                result: failure.id, exitCode: failure.exitCode, message: failure.message, instanceID: nil,
                configuration: nil, restart: nil, findings: [], error: failure.detail
            )
        }

        /// The outcome as one line of JSON, in this order: `schema` (1), `result`, `exitCode`, `message`, `error`,
        /// `instanceID`, `configuration`, `restart`, `findings` (JSONEncoder keeps no order). Run Command keeps only
        /// the first 2,500 characters of the output, so what an operator reads first must come first.
        public func jsonLine() throws -> String {
            let encoder = StatusDocument.encoder(pretty: false)
            func json(_ value: some Encodable) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
            var fields = [
                "\"schema\":\(StatusDocument.currentSchema)",
                "\"result\":" + (try json(result)), "\"exitCode\":\(exitCode)", "\"message\":" + (try json(message)),
            ]
            if let error { fields.append("\"error\":" + (try json(error))) }
            if let instanceID { fields.append("\"instanceID\":" + (try json(instanceID))) }
            if let configuration { fields.append("\"configuration\":" + (try json(configuration))) }
            if let restart { fields.append("\"restart\":" + (try json(restart))) }
            fields.append("\"findings\":" + (try json(findings)))
            return "{" + fields.joined(separator: ",") + "}"
        }
    }

    let settings: Settings
    let logger: Logger
    let verifyDeadline: Duration

    public init(settings: Settings, logger: Logger, verifyDeadline: Duration = .seconds(120)) {
        self.settings = settings
        self.logger = logger
        self.verifyDeadline = verifyDeadline
    }

    public func run(maxWait: Duration) async -> Outcome {
        let environment: ObservationEnvironment
        let instance: InstanceContext
        do {
            environment = try ObservationEnvironment(settings: settings, logger: logger)
        } catch {
            // A setting the parser took but the clients cannot use: a configuration error (78), as for `check`.
            return Outcome(failure: CommandFailure.configuration(error))
        }
        do {
            instance = try await environment.loadInstance()
        } catch {
            // Not the endpoints' fault: instance metadata (or a setting) is what to look at.
            let failure = CommandFailure.instanceContext(error, command: "rollout", exitCode: 2)
            return Outcome(
                result: "instance-context-unknown", exitCode: 2, message: "\(error)", instanceID: nil, configuration: nil,
                restart: nil, findings: [], error: failure.detail
            )
        }
        if maxWait > .zero {
            let wait = Double.random(in: 0...RestartPlanner.seconds(maxWait))
            try? await LoopSleep.sleep(for: .milliseconds(Int64(wait * 1000)))
        }
        // The daemon holds the lock at most for one restart and its verification.
        let lock: RestartLock?
        do {
            lock = try await RestartLock.acquire(stateDir: settings.stateDir, wait: verifyDeadline + .seconds(60))
        } catch {
            return outcome("not-restarted", 1, "cannot take the restart lock: \(error)", instance, nil, nil, [])
        }
        guard let lock else {
            return outcome("not-restarted", 1, "another ecsvpcd holds the restart lock; try again", instance, nil, nil, [])
        }
        defer { withExtendedLifetime(lock) {} }

        let store = StateStore(directory: settings.stateDir)
        var ledger = store.loadLedger(logger: logger)
        let restarter = AgentRestarter(
            environment: environment, store: store, logger: logger, verifyDeadline: verifyDeadline,
            cooldown: settings.restartCooldown, now: { Date() }
        )
        // A restart left in flight by an ecsvpcd that died (a rollout ended by Run Command's timeout, a killed
        // daemon): nobody else restarts now, as this process holds the lock. The agent is started if it was left
        // stopped, and the restart recorded as interrupted, so it counts for cooldown and budget.
        await restarter.recoverInterruptedRestart(&ledger, foundBy: "ecsvpcd rollout")
        let endpoints = await environment.assessEndpoints(instance)
        let (observation, agent) = await environment.assessAgent(instance, endpointAddresses: endpoints.websocketEndpointAddresses)
        let findings = endpoints.findings + agent.findings
        guard endpoints.configuration == .vpcEndpoints, endpoints.endpointsAcceptConnections else {
            let line = StatusLine.endpoints(endpoints, probePort: settings.probePort)
            return outcome("no-usable-endpoints", 2, "no usable endpoints here: \(line)", instance, endpoints.configuration, nil, findings)
        }
        if agent.facts.connections == .vpcEndpoint {
            return outcome(
                "already-on-endpoints", 0, "the agent already uses the endpoints", instance, endpoints.configuration, nil,
                findings
            )
        }
        // The daemon's decision, confirmed by this observation alone and without the slot.
        var policy = RestartPolicy(settings)
        policy.stableProbes = 1
        // One-shot for a fleet tool: restart now if needed, not wait for the agent's own move.
        policy.mode = .always
        var scratch = ledger
        scratch.firstConfirmedAt = ledger.firstConfirmedAt ?? ledger.confirmedAt
        scratch.configurationKey = nil
        scratch.confirmedAt = nil
        let decision = RestartPlanner(policy: policy, seed: instance.instanceID ?? "").decide(
            now: Date(), configuration: endpoints.configuration, configurationKey: endpoints.configurationKey,
            endpointsAcceptConnections: endpoints.endpointsAcceptConnections, agent: agent.facts, ledger: &scratch,
            force: true
        )
        // What this observation confirmed: kept, so that a later run or the daemon does not take an agent
        // restarted now for one that started before the endpoints (its connections cannot always be seen).
        if ledger.firstConfirmedAt == nil { ledger.firstConfirmedAt = scratch.firstConfirmedAt }
        guard case .restart(let reason) = decision else {
            if case .idle(let why) = decision {
                // The agent started after the endpoints were first confirmed: restarted earlier, by the daemon or
                // a previous run.
                try? store.saveLedger(ledger)
                return outcome("already-on-endpoints", 0, "no restart needed: \(why)", instance, endpoints.configuration, nil, findings)
            }
            let code: Int32 = decision.state == "blocked" ? 2 : 1
            let until = decision.notBefore.map { " (until \($0))" } ?? ""
            return outcome(
                "not-restarted", code, "not restarted: \(decision.reason)\(until)", instance, endpoints.configuration, nil,
                findings
            )
        }
        let attempt = await restarter.restart(
            reason: reason + " (ecsvpcd rollout)", observation: observation, instance: instance,
            endpointAddresses: endpoints.websocketEndpointAddresses, ledger: &ledger
        )
        ledger.trim(now: Date())
        try? store.saveLedger(ledger)
        var record: StatusDocument.RestartRecord
        switch attempt {
        case .attempted(let made):
            record = made
        case .notAttempted(let why):
            return outcome("not-restarted", 2, "no way to restart the agent: \(why)", instance, endpoints.configuration, nil, findings)
        }
        // On the endpoints once is not enough: still running and there over the settle time (ecs-init's ExecStop
        // can stop an agent a few seconds after a restart that looked fine).
        var settled: RestartLedger.SettleOutcome? = ledger.settling == nil ? nil : .watching
        while settled == .watching {
            try? await LoopSleep.sleep(for: .seconds(1))
            let (_, again) = await environment.assessAgent(instance, endpointAddresses: endpoints.websocketEndpointAddresses)
            settled = ledger.settle(now: Date(), running: again.facts.running, connections: again.facts.connections)
        }
        switch settled {
        case .verified(let final), .lost(let final): record = final
        case .watching, nil: break
        }
        try? store.saveLedger(ledger)
        if record.result == "verified" {
            return outcome("restarted", 0, "restarted via \(record.via) and verified: \(record.detail ?? "")", instance, endpoints.configuration, record, findings)
        }
        return outcome(
            "verification-failed", 1, "restart via \(record.via) not verified: \(record.detail ?? "")", instance,
            endpoints.configuration, record, findings
        )
    }

    private func outcome(
        _ result: String, _ code: Int32, _ message: String, _ instance: InstanceContext?,
        _ configuration: EndpointConfiguration?, _ record: StatusDocument.RestartRecord?, _ findings: [Finding]
    ) -> Outcome {
        Outcome(
            result: result, exitCode: code, message: message, instanceID: instance?.instanceID,
            configuration: configuration, restart: record, findings: findings
        )
    }
}
