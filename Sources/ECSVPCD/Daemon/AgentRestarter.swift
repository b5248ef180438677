import ECSVPCCore
import FoundationEssentials
import Glibc
import Logging

/// Restarts the agent once and verifies it came back on the endpoints, recording the attempt in the ledger
/// before the call (so a crash leaves an in-flight record) and the result after. Shared by the daemon and
/// `ecsvpcd rollout`; the caller holds the restart lock.
struct AgentRestarter {
    /// What became of a restart the decision asked for.
    enum Outcome {
        /// Done, with the record appended to the ledger (verified, failed or unverified).
        case attempted(StatusDocument.RestartRecord)
        /// Not tried, and why: no way to restart the agent, or ecsvpcd is stopping. Nothing was recorded.
        case notAttempted(String)
    }

    let environment: ObservationEnvironment
    let store: StateStore
    let logger: Logger
    let verifyDeadline: Duration
    let cooldown: Duration
    let now: @Sendable () -> Date
    /// True once ecsvpcd was asked to stop: no restart is started then, and a verification stops waiting.
    var stopping: @Sendable () -> Bool = { false }

    func restart(
        reason: String, observation: AgentObservation, instance: InstanceContext, endpointAddresses: Set<IPAddress>,
        ledger: inout RestartLedger
    ) async -> Outcome {
        // Asked afresh: the observation's answer may be up to a minute old.
        let (freshPath, why) = await environment.supervisor.restartPath()
        // Not logged here: the caller reports it (the daemon as a blocked decision, once; rollout in its outcome).
        guard let path = freshPath else { return .notAttempted(why) }
        guard !stopping() else { return .notAttempted("ecsvpcd is stopping") }
        let started = now()
        ledger.inFlight = RestartLedger.InFlight(
            startedAt: started, via: path.rawValue, reason: reason, previousAgentStart: observation.container?.startedAt
        )
        persist(ledger)
        logger.notice(
            "restarting the ECS agent via \(path.rawValue): \(reason)",
            metadata: ["decision": "restart", "reason": "\(reason)", "via": "\(path.rawValue)"]
        )
        var result = "failed"
        var detail: String?
        var gap: Duration?
        let callStart = ContinuousClock.now
        do {
            try await environment.supervisor.restart(via: path)
            (result, detail, gap) = await verify(
                previousStart: observation.container?.startedAt, instance: instance, endpointAddresses: endpointAddresses,
                since: callStart
            )
        } catch {
            detail = "the restart call failed: \(error)"
        }
        ledger.inFlight = nil
        // Verified is not the end: the agent must still run and stay on the endpoints over the settle time.
        if result == "verified" {
            result = StatusDocument.RestartRecord.settling
            ledger.settling = RestartLedger.Settling(
                restartAt: started, until: now().addingTimeInterval(RestartLedger.settleTime)
            )
        }
        let gapSeconds = gap.map(RestartPlanner.seconds)
        let record = StatusDocument.RestartRecord(
            at: started, via: path.rawValue, result: result, reason: reason, detail: detail, gapSeconds: gapSeconds
        )
        ledger.history.append(record)
        persist(ledger)
        if result == StatusDocument.RestartRecord.settling {
            let gapText = gapSeconds.map { "; restart gap \(DurationText.seconds($0, decimals: 2)) s (the restart call to the first endpoint connection)" } ?? ""
            logger.notice(
                "agent restarted via \(path.rawValue), on the endpoints: \(detail ?? "")\(gapText); verified once it stays so for \(Int(RestartLedger.settleTime)) s",
                metadata: [
                    "via": "\(path.rawValue)", "decision": "settling",
                    "gap_seconds": "\(gapSeconds.map { DurationText.seconds($0, decimals: 3) } ?? "")",
                ]
            )
        } else if result == "unverified" {
            logger.warning(
                "agent restarted via \(path.rawValue), not verified: \(detail ?? "unknown")",
                metadata: ["via": "\(path.rawValue)", "reason": "\(detail ?? "unknown")", "decision": "unverified"]
            )
        } else {
            logger.critical(
                "agent restart via \(path.rawValue) failed: \(detail ?? "unknown"); not retried before the cooldown (\(DurationText.format(cooldown)))",
                metadata: [
                    "message_id": "\(MessageID.restartFailed.rawValue)", "via": "\(path.rawValue)",
                    "reason": "\(detail ?? "unknown")", "decision": "failed",
                ]
            )
        }
        return .attempted(record)
    }

    /// The agent runs again with a new StartedAt, introspection answers, and its connections go to endpoints
    /// (when they cannot be seen, the first two must do). Stops waiting when ecsvpcd is asked to stop: the
    /// restart itself is one call, already done, so the result is then "unverified".
    func verify(
        previousStart: Date?, instance: InstanceContext, endpointAddresses: Set<IPAddress>,
        since callStart: ContinuousClock.Instant = .now
    ) async -> (String, String?, Duration?) {
        let deadline = ContinuousClock.now + verifyDeadline
        var last = "no observation yet"
        while ContinuousClock.now < deadline {
            if stopping() || Task.isCancelled {
                return ("unverified", "ecsvpcd stopped before the restart was verified; last seen: \(last)", nil)
            }
            // Often enough to measure the gap between the old connections' close and the new ones to a few
            // tenths of a second (the real agent's is about a second).
            try? await LoopSleep.sleep(for: .milliseconds(200))
            if stopping() || Task.isCancelled { continue }
            let (observation, agent) = await environment.assessAgent(
                instance, endpointAddresses: endpointAddresses, now: now()
            )
            guard let container = observation.container, container.running else {
                last = "the agent container is not running"
                continue
            }
            guard container.startedAt != previousStart else {
                last = "the agent container has not restarted (same StartedAt)"
                continue
            }
            guard observation.metadata != nil else {
                last = "the agent's introspection API does not answer (\(observation.metadataError ?? "no reply"))"
                continue
            }
            if agent.facts.connections == .unknown {
                return ("verified", "restarted and answering; its connections cannot be seen ("
                    + (agent.connectionsDetail ?? "unknown") + ")", nil)
            }
            guard agent.facts.connections == .vpcEndpoint else {
                last = "the agent's connections are \(agent.facts.connections.rawValue)"
                    + (agent.remoteAddresses.isEmpty
                        ? "" : " (" + agent.remoteAddresses.map(\.description).joined(separator: ", ") + ")")
                continue
            }
            return (
                "verified", "connected to " + agent.remoteAddresses.map(\.description).joined(separator: ", "),
                ContinuousClock.now - callStart
            )
        }
        return ("failed", "not verified within \(DurationText.format(verifyDeadline)): \(last)", nil)
    }

    /// A restart is in flight in the ledger: the ecsvpcd that started it died (or was killed) before it recorded
    /// the result. Makes sure the agent runs (started the way the restart went, else the way it is supervised
    /// now) and records the restart as interrupted. `foundBy` names who found it, for the record.
    func recoverInterruptedRestart(_ ledger: inout RestartLedger, foundBy: String) async {
        guard let inFlight = ledger.inFlight else { return }
        let observation = await environment.agentObserver.observe()
        var detail = "ecsvpcd stopped during this restart (found by \(foundBy))"
        if observation.container?.running == true {
            logger.notice("found an interrupted restart from \(inFlight.startedAt) (via \(inFlight.via)); the agent is running")
        } else if let path = RestartPath(rawValue: inFlight.via) ?? observation.supervisor {
            do {
                try await environment.supervisor.start(via: path)
                detail += "; the agent was not running, so ecsvpcd started it via \(path.rawValue)"
                logger.warning("the agent was left stopped by an interrupted restart: started it via \(path.rawValue)")
            } catch {
                detail += "; the agent is not running and starting it via \(path.rawValue) failed: \(error)"
                logger.critical("the agent is not running after an interrupted restart, and starting it failed: \(error)")
            }
        } else {
            detail += "; the agent is not running and there is no way to start it: \(observation.supervisorDetail)"
            logger.critical("the agent is not running after an interrupted restart: \(observation.supervisorDetail)")
        }
        ledger.inFlight = nil
        ledger.history.append(StatusDocument.RestartRecord(
            at: inFlight.startedAt, via: inFlight.via, result: "interrupted", reason: inFlight.reason, detail: detail
        ))
        persist(ledger)
    }

    private func persist(_ ledger: RestartLedger) {
        do {
            try store.saveLedger(ledger)
        } catch {
            logger.error("cannot save the state file: \(error)", metadata: ["reason": "\(error)"])
        }
    }
}
