import ECSVPCCore
import FoundationEssentials
import Glibc
import Logging

/// Restarts the agent once and verifies it came back on the endpoints, recording the attempt in the ledger
/// before the call (so a crash leaves an in-flight record) and the result after. Shared by the daemon and
/// `ecsvpcd rollout`; the caller holds the restart lock.
struct AgentRestarter {
    let environment: ObservationEnvironment
    let store: StateStore
    let logger: Logger
    let verifyDeadline: Duration
    let cooldown: Duration
    let now: @Sendable () -> Date

    /// Returns the record it appended to the ledger.
    @discardableResult
    func restart(
        reason: String, observation: AgentObservation, instance: InstanceContext, ledger: inout RestartLedger
    ) async -> StatusDocument.RestartRecord? {
        // Asked afresh: the observation's answer may be up to a minute old.
        let (freshPath, why) = await environment.supervisor.restartPath()
        guard let path = freshPath else {
            logger.error(
                "restart needed but no way to restart the agent: \(why)",
                metadata: ["message_id": "\(MessageID.restartFailed.rawValue)", "reason": "\(why)"]
            )
            return nil
        }
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
        do {
            try await environment.supervisor.restart(via: path)
            (result, detail) = await verify(previousStart: observation.container?.startedAt, instance: instance)
        } catch {
            detail = "the restart call failed: \(error)"
        }
        ledger.inFlight = nil
        let record = StatusDocument.RestartRecord(
            at: started, via: path.rawValue, result: result, reason: reason, detail: detail
        )
        ledger.history.append(record)
        persist(ledger)
        if result == "verified" {
            logger.notice(
                "agent restarted via \(path.rawValue) and verified: \(detail ?? "")",
                metadata: [
                    "message_id": "\(MessageID.restartVerified.rawValue)", "via": "\(path.rawValue)",
                    "decision": "verified",
                ]
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
        return record
    }

    /// The agent runs again with a new StartedAt, introspection answers, and its connections go to endpoints.
    func verify(previousStart: Date?, instance: InstanceContext) async -> (String, String?) {
        let deadline = ContinuousClock.now + verifyDeadline
        var last = "no observation yet"
        while ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(500))
            let (observation, agent) = await environment.assessAgent(instance)
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
            guard agent.facts.connections == .vpcEndpoint else {
                last = "the agent's connections are \(agent.facts.connections.rawValue)"
                    + (agent.remoteAddresses.isEmpty
                        ? "" : " (" + agent.remoteAddresses.map(\.description).joined(separator: ", ") + ")")
                continue
            }
            return ("verified", "connected to " + agent.remoteAddresses.map(\.description).joined(separator: ", "))
        }
        return ("failed", "not verified within \(DurationText.format(verifyDeadline)): \(last)")
    }

    private func persist(_ ledger: RestartLedger) {
        do {
            try store.saveLedger(ledger)
        } catch {
            logger.error("cannot save the state file: \(error)", metadata: ["reason": "\(error)"])
        }
    }
}
