import ECSVPCCore
import FoundationEssentials
import Glibc

/// `ecsvpcd check`: one observation now, no daemon, never a restart.
public struct Check: Sendable {
    let environment: ObservationEnvironment

    public init(environment: ObservationEnvironment) {
        self.environment = environment
    }

    public func run(now: @Sendable () -> Date = { Date() }) async throws(InstanceContextLoader.Failure) -> StatusDocument {
        let instance = try await environment.loadInstance()
        let environment = environment
        async let servicesObserved = environment.observeServices(instance)
        let assessment = await environment.assessEndpoints(instance)
        let settings = environment.settings
        let services = await servicesObserved?.assess(
            configuration: assessment.configuration, region: instance.region, probePort: settings.probePort
        )
        // The hosts the agent really dials, where its log names them: what a person on SSH wants to see next to
        // the three names. The agent's own findings stay the daemon's; only a failing cell host counts here.
        var agentSection: StatusDocument.Agent?
        var findings = assessment.findings
        if let log = settings.agentLog, access(log, R_OK) == 0 {
            let (observation, agent) = await environment.assessAgent(
                instance, endpointAddresses: assessment.websocketEndpointAddresses, now: now()
            )
            if let cells = agent.cells, !cells.isEmpty {
                agentSection = StatusDocument.Agent(observation, agent)
                findings += agent.findings.filter { $0.id == AgentAssessment.cellHostNotAccepting }
            }
        }
        findings += services?.findings ?? []
        let health = findings.map(\.severity.health).max() ?? .ok
        var document = StatusDocument(
            source: "check",
            health: health,
            summary: StatusLine.endpoints(assessment, probePort: settings.probePort),
            instance: environment.instanceSection(instance),
            endpoints: assessment.endpoints,
            configuration: assessment.configuration,
            agent: agentSection,
            restart: nil,
            findings: findings,
            updatedAt: now()
        )
        document.setServices(services)
        return document
    }
}
