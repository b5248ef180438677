import ECSVPCCore
import FoundationEssentials
import Glibc
import Logging

/// One observe → decide → act → record cycle, and the restart with its verification.
///
/// Remembers what it last reported, so that every change (configuration, decision, findings) is logged once when
/// it starts and once when it ends, not on every cycle.
struct CycleRunner {
    let settings: Settings
    let environment: ObservationEnvironment
    let store: StateStore
    let logger: Logger
    let verifyDeadline: Duration
    let now: @Sendable () -> Date
    /// True once ecsvpcd was asked to stop (SIGTERM): no restart is started, a verification stops waiting.
    let stopping: @Sendable () -> Bool
    private var instance: InstanceContext?
    private var lastConfiguration: EndpointConfiguration?
    private var configurationSince: Date?
    private var lastDecisionState: String?
    private var lastFindingIDs: Set<String> = []
    private var lastReadiness: Readiness?
    /// The ledger as this runner last read or wrote it, with the state file's stamp then: unchanged files are not
    /// read again, unchanged ledgers not written again.
    private var knownLedger: (ledger: RestartLedger, stamp: String?)?
    /// What the saved status.json says and when it was written: rewritten every cycle, but at most once a second
    /// unless it changed (intervals below a second are for tests and benchmarks).
    private var savedStatus: (key: String, at: ContinuousClock.Instant)?
    /// The ledger as this runner last decided it when it could not be saved (a full disk): kept and used while
    /// the state file has not changed since, so that cooldown, budget and confirmation hold in this process.
    private var unsavedLedger: (ledger: RestartLedger, fileStamp: String?)?
    /// Lasting failures (saving state.json or status.json, taking the restart lock, instance metadata): each is
    /// logged when it starts or changes, not every cycle. Shared with the runner that replaces this one on reload.
    private var ledgerSaveProblems = RepeatSuppressor()
    private var statusSaveProblems = RepeatSuppressor()
    private var lockProblems = RepeatSuppressor()
    private var instanceProblems = RepeatSuppressor()

    init(
        settings: Settings, logger: Logger, verifyDeadline: Duration, now: @escaping @Sendable () -> Date,
        stopping: @escaping @Sendable () -> Bool = { false }
    ) throws {
        self.settings = settings
        self.stopping = stopping
        environment = try ObservationEnvironment(settings: settings, logger: logger)
        store = StateStore(directory: settings.stateDir)
        self.logger = logger
        self.verifyDeadline = verifyDeadline
        self.now = now
    }

    /// One cycle. The restart ledger is read from the state file under the restart lock each time, so that a
    /// `rollout` run in between is seen; when a rollout holds the lock, this cycle only observes and reports.
    mutating func cycle(force: String?) async -> (StatusDocument, RestartLedger) {
        let (lock, lockProblem) = await takeRestartLock()
        var ledger = currentLedger()
        // A restart in flight in the state file, seen under the lock, was interrupted: this daemon's own restarts
        // end within their cycle, so it is one of a predecessor that died or of a rollout that was killed. It is
        // finished by the first cycle that holds the lock, however many cycles that takes (instance metadata down
        // at boot, a rollout holding the lock), before instance metadata is asked.
        if lock != nil, ledger.inFlight != nil {
            await restarter.recoverInterruptedRestart(&ledger, foundBy: "ecsvpcd")
            persist(ledger)  // kept in memory if it cannot be saved, like any ledger
        }
        guard let instance = await loadInstance() else {
            return (unknownInstanceDocument(), ledger)
        }

        let environment = environment
        let endpoints = await environment.assessEndpoints(instance)
        var (agentObservation, agent) = await environment.assessAgent(
            instance, endpointAddresses: endpoints.websocketEndpointAddresses, now: now()
        )
        noteConfiguration(endpoints)
        if lock != nil { noteSettling(ledger.settle(now: now(), running: agent.facts.running, connections: agent.facts.connections)) }

        let planner = RestartPlanner(policy: RestartPolicy(settings), seed: instance.instanceID ?? Self.hostSeed())
        var decision = lock == nil
            ? RestartDecision.blocked(reason: lockProblem)
            : planner.decide(
            now: now(),
            configuration: endpoints.configuration,
            configurationKey: endpoints.configurationKey,
            endpointsAcceptConnections: endpoints.endpointsAcceptConnections && agent.cellHostsAcceptConnections,
            agent: agent.facts,
            ledger: &ledger,
            force: force != nil
        )
        if let force, decision.state != "restarting" {
            logger.warning("operator restart not done: \(decision.reason)", metadata: ["reason": "\(force)"])
        }
        // A restart decision is told by the restarter ("restarting the ECS agent via …") or, when none is made,
        // as the blocked decision it turns into: said once however many cycles it lasts.
        if case .restart(let reason) = decision {
            let outcome = await restarter.restart(
                reason: reason, observation: agentObservation, instance: instance,
                endpointAddresses: endpoints.websocketEndpointAddresses, ledger: &ledger
            )
            switch outcome {
            case .attempted(let record):
                (agentObservation, agent) = await environment.assessAgent(
                    instance, endpointAddresses: endpoints.websocketEndpointAddresses, now: now()
                )
                decision = .idle(reason: "restarted: " + record.result + (record.detail.map { " (\($0))" } ?? ""))
                lastDecisionState = decision.state
            case .notAttempted(let why):
                // Nothing happened (no way to restart, or stopping): reported like any blocked decision, once.
                decision = .blocked(reason: reason + "; not restarted: " + why)
                noteDecision(decision)
            }
        } else {
            noteDecision(decision)
        }
        ledger.trim(now: now())
        // Written when it changed, and once when there is no state file yet (first start, or a corrupt one moved aside).
        if lock != nil, ledger != knownLedger?.ledger || knownLedger?.stamp == nil || unsavedLedger != nil { persist(ledger) }

        // The related services never enter the restart decision: observed after it, reported only. Not beside the
        // ECS names: their probes share the one blocking thread, and an S3 name without a route would hold the ECS
        // names' probes, the agent's observation and systemd's calls for a whole probe timeout every cycle.
        let services = await environment.observeServices(instance)?.assess(
            configuration: endpoints.configuration, region: instance.region, probePort: settings.probePort
        )
        noteReadiness(services)
        let document = statusDocument(
            instance: instance, endpoints: endpoints, agentObservation: agentObservation, agent: agent,
            decision: decision, ledger: ledger, services: services
        )
        noteFindings(document.findings)
        let statusKey = "\(document.health) \(document.summary) \(document.findings.map(\.id))"
        // Monotonic: a wall clock stepped back must not freeze status.json.
        if statusKey != savedStatus?.key || savedStatus.map({ ContinuousClock.now - $0.at >= .seconds(1) }) ?? true {
            do {
                try store.saveStatus(document)
                savedStatus = (statusKey, ContinuousClock.now)
                _ = statusSaveProblems.isNew(nil)
            } catch {
                if statusSaveProblems.isNew("\(error)") { logger.warning("cannot save the status document: \(error)") }
            }
        }
        withExtendedLifetime(lock) {}
        return (document, ledger)
    }

    /// After a reload: what the previous runner last reported, so that a decision, a finding or a failure that
    /// lasts through the reload is not logged again as if new (with its catalogued MESSAGE_ID).
    mutating func carryReporting(from previous: CycleRunner) {
        lastConfiguration = previous.lastConfiguration
        configurationSince = previous.configurationSince
        lastDecisionState = previous.lastDecisionState
        lastFindingIDs = previous.lastFindingIDs
        lastReadiness = previous.lastReadiness
        lockProblems = previous.lockProblems
        instanceProblems = previous.instanceProblems
        statusSaveProblems = previous.statusSaveProblems
        // A ledger that could not be saved is this process's only record of a restart: kept through a reload.
        if previous.settings.stateDir == settings.stateDir {
            unsavedLedger = previous.unsavedLedger
            ledgerSaveProblems = previous.ledgerSaveProblems
        }
    }

    // MARK: Acting

    private var restarter: AgentRestarter {
        AgentRestarter(
            environment: environment, store: store, logger: logger, verifyDeadline: verifyDeadline,
            cooldown: settings.restartCooldown, now: now, stopping: stopping
        )
    }

    /// The restart lock, or why this cycle does not have it: another process holds it (a rollout), or it cannot
    /// be taken at all (the state directory cannot be created or locked; logged when the reason changes).
    private mutating func takeRestartLock() async -> (RestartLock?, String) {
        do {
            let lock = try await RestartLock.acquire(stateDir: settings.stateDir, wait: .zero)
            _ = lockProblems.isNew(nil)
            return (lock, lock == nil ? "another ecsvpcd (a rollout) holds the restart lock; deciding next cycle" : "")
        } catch {
            let why = "\(error)"
            if lockProblems.isNew(why) {
                logger.error("cannot take the restart lock, so no restart is decided: \(why)", metadata: ["reason": "\(why)"])
            }
            return (nil, "the restart lock cannot be taken (\(why)); check that ECSVPCD_STATE_DIR is writable")
        }
    }

    private mutating func currentLedger() -> RestartLedger {
        let stamp = store.ledgerStamp()
        if let unsaved = unsavedLedger, unsaved.fileStamp == stamp { return unsaved.ledger }
        unsavedLedger = nil  // the file changed (a rollout wrote it): it is the newer truth
        if let known = knownLedger, known.stamp == stamp, stamp != nil { return known.ledger }
        let ledger = store.loadLedger(logger: logger)
        knownLedger = (ledger, store.ledgerStamp())
        return ledger
    }

    private mutating func persist(_ ledger: RestartLedger) {
        do {
            try store.saveLedger(ledger)
            knownLedger = (ledger, store.ledgerStamp())
            unsavedLedger = nil
            _ = ledgerSaveProblems.isNew(nil)
        } catch {
            unsavedLedger = (ledger, store.ledgerStamp())
            let why = "\(error)"
            if ledgerSaveProblems.isNew(why) {
                logger.error(
                    "cannot save the state file, keeping the restart history in memory: \(why)", metadata: ["reason": "\(why)"]
                )
            }
        }
    }

    // MARK: Instance context

    private mutating func loadInstance() async -> InstanceContext? {
        if let instance { return instance }
        do {
            let loaded = try await environment.loadInstance()
            instance = loaded
            if instanceProblems.isNew(nil) { logger.notice("instance context learned: region \(loaded.region)") }
            return loaded
        } catch {
            if instanceProblems.isNew("\(error)") { logger.error("\(error)", metadata: ["reason": "instance context unknown"]) }
            return nil
        }
    }

    private func unknownInstanceDocument() -> StatusDocument {
        var document = StatusDocument.starting(now: now())
        document.summary = "UNKNOWN cannot learn the instance context (instance metadata); see the journal"
        document.findings = [Finding(
            id: "instance-context-unknown", severity: .warning,
            message: "Instance metadata did not give the region or VPC CIDR blocks",
            hint: "Check that instance metadata is reachable (IMDSv2, hop limit) or set ECSVPCD_REGION and ECSVPCD_VPC_CIDRS."
        )]
        return document
    }

    static func hostSeed() -> String {
        ProcessInfo.processInfo.hostName
    }

    // MARK: Reporting

    private mutating func noteConfiguration(_ endpoints: EndpointAssessment) {
        guard endpoints.configuration != lastConfiguration else { return }
        let line = StatusLine.endpoints(endpoints, probePort: settings.probePort)
        let addresses = endpoints.required.map { "\($0.shortName)=" + $0.addresses.map(\.address.description).joined(separator: "/") }
        if let previous = lastConfiguration {
            logger.notice(
                "endpoint configuration changed from \(previous.rawValue) to \(endpoints.configuration.rawValue): \(line)",
                metadata: [
                    "message_id": "\(MessageID.configurationChanged.rawValue)",
                    "route": "\(endpoints.configuration.rawValue)",
                    "previous": "\(previous.rawValue)",
                    "addresses": "\(addresses.joined(separator: " "))",
                ]
            )
        } else {
            logger.info(
                "endpoint configuration is \(endpoints.configuration.rawValue): \(line)",
                metadata: ["route": "\(endpoints.configuration.rawValue)", "addresses": "\(addresses.joined(separator: " "))"]
            )
        }
        lastConfiguration = endpoints.configuration
        configurationSince = now()
    }

    /// The readiness verdict for a subnet without internet access, logged when it is first known and when it changes.
    private mutating func noteReadiness(_ services: ServicesAssessment?) {
        guard let services, services.readiness != lastReadiness else { return }
        let metadata: Logger.Metadata = ["readiness": "\(services.readiness.rawValue)", "reason": "\(services.readinessDetail)"]
        let text = "readiness for a subnet without internet access: \(services.readiness.rawValue): \(services.readinessDetail)"
        if lastReadiness == nil { logger.info("\(text)", metadata: metadata) } else { logger.notice("\(text)", metadata: metadata) }
        lastReadiness = services.readiness
    }

    private mutating func noteDecision(_ decision: RestartDecision) {
        guard decision.state != lastDecisionState else { return }
        var metadata: Logger.Metadata = ["decision": "\(decision.state)", "reason": "\(decision.reason)"]
        var text = "restart decision: \(decision.state): \(decision.reason)"
        if let at = decision.notBefore { text += " (at \(at))"; metadata["not_before"] = "\(at)" }
        switch decision {
        case .scheduled: metadata["message_id"] = "\(MessageID.restartScheduled.rawValue)"
        case .pending, .coolingDown: metadata["message_id"] = "\(MessageID.restartPending.rawValue)"
        case .budgetSpent: metadata["message_id"] = "\(MessageID.budgetSpent.rawValue)"
        default: break
        }
        switch decision {
        case .blocked, .budgetSpent: logger.warning("\(text)", metadata: metadata)
        default: logger.notice("\(text)", metadata: metadata)
        }
        lastDecisionState = decision.state
    }

    /// A restart in its settle time, judged again this cycle: logged when it settles either way.
    private func noteSettling(_ outcome: RestartLedger.SettleOutcome?) {
        switch outcome {
        case .verified(let record):
            logger.notice(
                "agent restart via \(record.via) verified: still running and on the endpoints after \(Int(RestartLedger.settleTime)) s (\(record.detail ?? ""))",
                metadata: [
                    "message_id": "\(MessageID.restartVerified.rawValue)", "via": "\(record.via)", "decision": "verified",
                    "gap_seconds": "\(record.gapSeconds.map { DurationText.seconds($0, decimals: 3) } ?? "")",
                ]
            )
        case .lost(let record):
            logger.critical(
                "agent restart via \(record.via) lost: \(record.detail ?? "")",
                metadata: [
                    "message_id": "\(MessageID.lostAfterRestart.rawValue)", "via": "\(record.via)",
                    "decision": "lost-after-restart", "reason": "\(record.detail ?? "")",
                ]
            )
        case .watching, nil:
            break
        }
    }

    private mutating func noteFindings(_ findings: [Finding]) {
        let ids = Set(findings.map(\.id))
        for finding in findings where !lastFindingIDs.contains(finding.id) {
            var metadata: Logger.Metadata = ["finding": "\(finding.id)", "hint": "\(finding.hint)"]
            if let id = Self.messageIDs[finding.id] { metadata["message_id"] = "\(id.rawValue)" }
            let text = "\(finding.severity.rawValue): \(finding.message)"
            switch finding.severity {
            case .critical: logger.critical("\(text)", metadata: metadata)
            case .warning: logger.warning("\(text)", metadata: metadata)
            case .info: logger.info("\(text)", metadata: metadata)
            }
        }
        for gone in lastFindingIDs.subtracting(ids) {
            logger.notice("resolved: \(gone)", metadata: ["finding": "\(gone)"])
        }
        lastFindingIDs = ids
    }

    /// The catalogued findings. `restart-budget-spent` is not here: the `budget-spent` decision carries that id,
    /// with the reason and the time the catalog entry shows.
    static let messageIDs: [String: MessageID] = [
        "endpoint-not-accepting": .endpointNotAccepting,
        "custom-dns-bypass": .customDNSBypass,
        "agent-too-old": .agentTooOld,
        "proxy-bypasses-endpoints": .proxyBypassesEndpoints,
    ]

    private func statusDocument(
        instance: InstanceContext, endpoints: EndpointAssessment, agentObservation: AgentObservation,
        agent: AgentAssessment, decision: RestartDecision, ledger: RestartLedger, services: ServicesAssessment?
    ) -> StatusDocument {
        let policy = RestartPolicy(settings)
        let currentTime = now()
        var findings = endpoints.findings + agent.findings + (services?.findings ?? [])
        if let cells = agent.facts.cells, let host = cells.publicHostsOfLastDiscovery.first, let first = ledger.firstConfirmedAt,
            let discovered = cells.discoveredAt, discovered >= first, agent.facts.connections != .vpcEndpoint
        {
            findings.append(Finding(
                id: "cell-host-public", severity: .warning,
                message: "The agent's cell host \(host) resolves to public addresses, although the agent learned it "
                    + "at \(discovered), after the endpoints took effect: the endpoint's private DNS does not cover the "
                    + "agent's cell, and a restart cannot move it",
                hint: "Check the ecs-agent and ecs-telemetry endpoints' private DNS (and any Route 53 zone shared from "
                    + "a hub VPC) for " + host + "; ecsvpcd does not restart the agent for this."
            ))
        }
        if let last = ledger.restarts.last, last.result == StatusDocument.RestartRecord.lostAfterRestart,
            currentTime.timeIntervalSince(last.at) < 86400
        {
            findings.append(Finding(
                id: "lost-after-restart", severity: .critical,
                message: "The agent was restarted (\(last.at), via \(last.via)) and reached the endpoints, then "
                    + (last.detail ?? "was lost within the settle time"),
                hint: "Check what stopped it (journalctl -u ecs, docker logs ecs-agent): under ecs-init, a restart "
                    + "through Docker leaves ecs.service stopping the agent; set ECSVPCD_RESTART_VIA=auto or systemd."
            ))
        } else if let last = ledger.restarts.last, !["verified", StatusDocument.RestartRecord.settling].contains(last.result),
            currentTime.timeIntervalSince(last.at) < 86400
        {
            // Failed: critical. Interrupted or unverified (ecsvpcd stopped during it): the agent was looked after,
            // only the verification is missing.
            findings.append(Finding(
                id: "restart-failed", severity: last.result == "failed" ? .critical : .warning,
                message: "The last agent restart (\(last.at), via \(last.via)) was not verified: \(last.detail ?? last.result)",
                hint: "Check the agent (docker logs ecs-agent, journalctl -u ecs) and the endpoints; ecsvpcd retries after the cooldown."
            ))
        }
        if case .budgetSpent(let until, _) = decision {
            findings.append(Finding(
                id: "restart-budget-spent", severity: .warning,
                message: "The restart budget of \(policy.budget) per 24 h is spent; next chance \(until)",
                hint: "Look at the restart history (ecsvpcd status) before raising ECSVPCD_RESTART_BUDGET."
            ))
        }
        let health = findings.map(\.severity.health).max() ?? .ok
        let container = agentObservation.container
        let agentSection = StatusDocument.Agent(agentObservation, agent)
        let restart = StatusDocument.Restart(
            state: settings.restart == .never && decision.state == "idle" ? "idle" : decision.state,
            reason: decision.reason,
            notBefore: decision.notBefore,
            budgetLeft: max(0, policy.budget - ledger.restartsInLastDay(before: currentTime).count),
            history: ledger.history
        )
        var summary = StatusLine.endpoints(endpoints, probePort: settings.probePort)
        summary += "; agent " + Self.agentPhrase(agent, container: container)
        switch decision {
        case .scheduled(let at, _): summary += "; restart scheduled at \(Self.clock(at))"
        case .pending(let at, _): summary += "; restart pending (would be at \(Self.clock(at)), ECSVPCD_RESTART=never)"
        case .budgetSpent: summary += "; restart needed but budget spent"
        case .coolingDown(let until, _): summary += "; restart waits for cooldown until \(Self.clock(until))"
        case .blocked: summary += "; restart blocked"
        case .waitingOwnMove(let until, _):
            summary += "; no restart: the agent moves by itself" + (until.map { " by about \(Self.clock($0))" } ?? "")
        default: summary += "; no restart pending"
        }
        if health == .critical, !summary.hasPrefix("CRITICAL"), let first = findings.first(where: { $0.severity == .critical }) {
            summary = "CRITICAL \(first.id); " + summary
        }
        var document = StatusDocument(
            source: "daemon", health: health, summary: summary, instance: environment.instanceSection(instance),
            endpoints: endpoints.endpoints, configuration: endpoints.configuration, configurationSince: configurationSince,
            agent: agentSection, restart: restart, findings: findings, updatedAt: currentTime
        )
        document.setServices(services)
        return document
    }

    static func agentPhrase(_ agent: AgentAssessment, container: AgentContainer?) -> String {
        guard container?.running == true else { return container == nil ? "absent" : "not running" }
        switch agent.facts.connections {
        case .vpcEndpoint: return "via endpoint"
        case .public: return "via public endpoints"
        case .none: return "without ECS connections"
        case .unknown: return "connections unknown"
        }
    }

    static func clock(_ date: Date) -> String {
        // "2026-11-29T23:34:09Z" → "23:34:09Z": the status line is read within the day.
        String(StatusTable.clock(date).drop { $0 != "T" }.dropFirst())
    }
}

extension StatusDocument.Agent {
    /// The status document's agent section from one observation and its assessment (daemon and check).
    init(_ observation: AgentObservation, _ agent: AgentAssessment) {
        self.init(
            running: observation.container?.running ?? false,
            started: observation.container?.startedAt,
            version: observation.metadata?.version,
            cluster: observation.metadata?.cluster,
            connections: agent.facts.connections.rawValue,
            connectionsDetail: agent.connectionsDetail,
            remoteAddresses: agent.remoteAddresses,
            supervisor: observation.supervisor?.rawValue,
            supervisorDetail: observation.supervisorDetail,
            proxy: agent.facts.viaProxy ? "yes (NO_PROXY does not cover the ECS names)" : nil
        )
        cells = agent.cells
        ownMove = agent.facts.cells?.ownMove
        cellsDetail = observation.logDetail
    }
}
