import ECSVPCCore
import Logging

/// One look at the agent: its container, introspection, settings files, live connections and restart path.
public struct AgentObserver: AgentObserving {
    public var container: String
    public var docker: DockerEngine
    public var introspection: AgentIntrospection
    public var settings: AgentSettingsReader
    public var connections: AgentConnectionsReader
    /// The port whose connections count (`ECSVPCD_PROBE_PORT`, 443).
    public var probePort: Int
    public var supervisor: any AgentSupervising
    public var logger: Logger

    public init(
        container: String = "ecs-agent",
        docker: DockerEngine,
        introspection: AgentIntrospection,
        settings: AgentSettingsReader = AgentSettingsReader(),
        connections: AgentConnectionsReader = AgentConnectionsReader(),
        probePort: Int = 443,
        supervisor: any AgentSupervising,
        logger: Logger
    ) {
        self.container = container
        self.docker = docker
        self.introspection = introspection
        self.settings = settings
        self.connections = connections
        self.probePort = probePort
        self.supervisor = supervisor
        self.logger = logger
    }

    public func observe() async -> AgentObservation {
        async let inspected = result { () async throws(AgentError) in try await docker.inspect(container) }
        async let introspected = result { () async throws(AgentError) in try await introspection.metadata() }
        async let path = supervisor.restartPath()
        let (settingsRead, problems) = settings.read()
        for problem in problems {
            logger.warning("agent settings: \(problem)", metadata: ["files": "\(settings.paths.joined(separator: ","))"])
        }
        let containerResult = await inspected
        var sockets = AgentSockets.unknown("the agent container could not be inspected")
        switch containerResult {
        case .success(let found?) where found.running && found.pid > 0:
            sockets = connections.sockets(mainPid: found.pid, remotePort: probePort)
        case .success(.some):
            sockets = .unknown("the agent container \(container) is not running")
        case .success(nil):
            sockets = .unknown("there is no container \(container)")
        case .failure:
            break
        }
        let metadataResult = await introspected
        let (restartPath, restartDetail) = await path
        return AgentObservation(
            container: try? containerResult.get(),
            containerError: containerResult.failureDescription,
            metadata: try? metadataResult.get(),
            metadataError: metadataResult.failureDescription,
            settings: settingsRead,
            sockets: sockets,
            supervisor: restartPath,
            supervisorDetail: restartDetail
        )
    }

    private func result<T: Sendable>(_ body: () async throws(AgentError) -> T) async -> Result<T, AgentError> {
        do throws(AgentError) {
            return .success(try await body())
        } catch {
            return .failure(error)
        }
    }

}

extension Result {
    fileprivate var failureDescription: String? {
        if case .failure(let error) = self { return "\(error)" }
        return nil
    }
}
