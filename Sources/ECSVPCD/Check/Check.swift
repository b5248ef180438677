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
        let assessment = await environment.assessEndpoints(instance)
        let settings = environment.settings
        return StatusDocument(
            source: "check",
            health: assessment.health,
            summary: StatusLine.endpoints(assessment, probePort: settings.probePort),
            instance: environment.instanceSection(instance),
            endpoints: assessment.endpoints,
            configuration: assessment.configuration,
            agent: nil,
            restart: nil,
            findings: assessment.findings,
            updatedAt: now()
        )
    }
}
