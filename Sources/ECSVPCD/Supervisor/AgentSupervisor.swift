import ECSVPCCore
import NIOPosix

/// Restarts the agent through systemd (`RestartUnit`) when its unit is loaded, through the Docker Engine only where
/// neither a unit, an ecs-init process nor an ecs-init container is seen (`chooseRestartPath`).
public struct AgentSupervisor: AgentSupervising {
    public var via: RestartVia
    public var unit: String
    public var container: String
    public var docker: DockerEngine
    public var systemd: SystemdManager
    /// Seconds Docker gives the agent to stop before killing it.
    public var stopTimeout: Int
    /// Where processes are listed, to see whether ecs-init runs (a test's tree instead of `/proc`).
    public var procRoot: String

    public init(
        via: RestartVia = .auto,
        unit: String = "ecs.service",
        container: String = "ecs-agent",
        docker: DockerEngine,
        systemd: SystemdManager = SystemdManager(),
        stopTimeout: Int = 30,
        procRoot: String = "/proc"
    ) {
        self.via = via
        self.unit = unit
        self.container = container
        self.docker = docker
        self.systemd = systemd
        self.stopTimeout = stopTimeout
        self.procRoot = procRoot
    }

    /// The three facts are gathered whatever the setting: `docker` warns from them, `auto` decides by them.
    public func restartPath() async -> (RestartPath?, String) {
        async let state = systemd.unitState(unit)
        async let origin = containerOrigin()
        let root = procRoot
        // A few hundred small /proc reads: on the blocking pool, not the cooperative one.
        let process = (try? await NIOThreadPool.singleton.runIfActive { EcsInitProcess.find(procRoot: root) })
            ?? EcsInitProcess.find(procRoot: root)
        return chooseRestartPath(via: via, unit: unit, state: await state, container: await origin, ecsInit: process)
    }

    private func containerOrigin() async -> AgentContainerOrigin {
        do throws(AgentError) {
            guard let (_, setup) = try await docker.inspectWithSetup(container) else {
                return .unknown("there is no container \(container)")
            }
            return AgentContainerOrigin(setup: setup)
        } catch {
            return .unknown("\(error)")
        }
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
