import ECSVPCCore

/// Restarts the agent through systemd (`RestartUnit`) when its unit supervises it, else the Docker Engine.
public struct AgentSupervisor: AgentSupervising {
    public var via: RestartVia
    public var unit: String
    public var container: String
    public var docker: DockerEngine
    public var systemd: SystemdManager
    /// Seconds Docker gives the agent to stop before killing it.
    public var stopTimeout: Int

    public init(
        via: RestartVia = .auto,
        unit: String = "ecs.service",
        container: String = "ecs-agent",
        docker: DockerEngine,
        systemd: SystemdManager = SystemdManager(),
        stopTimeout: Int = 30
    ) {
        self.via = via
        self.unit = unit
        self.container = container
        self.docker = docker
        self.systemd = systemd
        self.stopTimeout = stopTimeout
    }

    public func restartPath() async -> (RestartPath?, String) {
        if via == .docker { return chooseRestartPath(via: .docker, unit: unit, state: .absent) }
        return chooseRestartPath(via: via, unit: unit, state: await systemd.unitState(unit))
    }

    /// One call either way: systemd queues a restart job (returned at once; the caller verifies the result),
    /// Docker stops and starts the container inside the engine.
    public func restart(via path: RestartPath) async throws {
        switch path {
        case .systemd: _ = try await systemd.restartUnit(unit)
        case .docker: try await docker.restart(container, stopTimeout: stopTimeout)
        }
    }

    public func start(via path: RestartPath) async throws {
        switch path {
        case .systemd: _ = try await systemd.startUnit(unit)
        case .docker: try await docker.start(container)
        }
    }
}
