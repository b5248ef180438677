import ECSVPCCore
import Foundation
import Testing

@testable import ECSVPCD

@Suite("Agent supervisor")
struct AgentSupervisorTests {
    @Test(
        "chooses the restart path from the setting and the unit's state (a container run by hand, no ecs-init)",
        arguments: [
            (RestartVia.auto, AgentUnitState.active, RestartPath?.some(.systemd)),
            // A loaded unit is restarted through systemd whatever its state: RestartUnit starts it again.
            (.auto, .notActive("inactive"), .systemd),
            (.auto, .notActive("failed"), .systemd),
            (.auto, .absent, .docker),
            (.auto, .busUnavailable("no system bus"), .docker),
            // systemd there but not answering (dbus restarting, denied, timeout): ecs.service may supervise the
            // agent, so a Docker restart is not safe either.
            (.auto, .unknown("Connection refused"), nil),
            (.systemd, .active, .systemd),
            (.systemd, .notActive("inactive"), .systemd),
            (.systemd, .absent, nil),
            (.systemd, .busUnavailable("no system bus"), nil),
            (.systemd, .unknown("Connection refused"), nil),
            (.docker, .active, .docker),
            (.docker, .absent, .docker),
            (.docker, .busUnavailable("no system bus"), .docker),
            (.docker, .unknown("Connection refused"), .docker),
        ]
    )
    func choice(via: RestartVia, state: AgentUnitState, expected: RestartPath?) {
        let (path, detail) = chooseRestartPath(
            via: via, unit: "ecs.service", state: state, container: .notEcsInit, ecsInit: .notRunning
        )
        #expect(path == expected)
        #expect(!detail.isEmpty)
        if case .busUnavailable = state, via != .docker { #expect(detail.contains("no system bus")) }
        if case .unknown = state, via != .docker { #expect(detail.contains("Connection refused")) }
        if via != .auto { #expect(detail.contains("ECSVPCD_RESTART_VIA")) }
    }

    @Test("without a system bus, auto falls back to Docker, saying why")
    func noSystemBus() async throws {
        // A bus address where no bus can be, whatever this host runs (a system bus or none), and an empty process
        // list, so that no ecs-init of the host counts either.
        let directory = try TemporaryDirectory()
        let systemd = SystemdManager(busAddress: "unix:path=" + directory.file("no-bus/system_bus_socket"))
        let procRoot = directory.file("proc")
        try FileManager.default.createDirectory(atPath: procRoot, withIntermediateDirectories: true)
        let state = await systemd.unitState("ecs.service")
        guard case .busUnavailable(let why) = state else {
            Issue.record("expected no system bus at that address, got \(state)")
            return
        }
        #expect(why.contains("sd_bus_start"))
        #expect(why.contains("No such file or directory"))
        let docker = DockerEngine(target: .unix(path: "/nonexistent/docker.sock"))
        let (path, detail) = await AgentSupervisor(via: .auto, docker: docker, systemd: systemd, procRoot: procRoot)
            .restartPath()
        #expect(path == .docker)
        #expect(detail.contains("so no unit supervises the agent"))
        let (forced, forcedDetail) = await AgentSupervisor(
            via: .systemd, docker: docker, systemd: systemd, procRoot: procRoot
        ).restartPath()
        #expect(forced == nil)
        #expect(forcedDetail.contains("rules out Docker"))
        await #expect(throws: SystemdError.self) { try await systemd.restartUnit("ecs.service") }
    }

    @Test("restarts the stand-in agent through Docker in one call")
    func restartsThroughDocker() async throws {
        let docker = DockerEngine(target: try HTTPTarget(url: try TestDocker.host()))
        let agent = try StandinAgent()
        defer { agent.remove() }
        let before = try #require(try await docker.inspect(agent.name))
        let supervisor = AgentSupervisor(via: .docker, container: agent.name, docker: docker, stopTimeout: 5)
        #expect(await supervisor.restartPath().0 == .docker)
        try await supervisor.restart(via: .docker)
        let after = try #require(try await docker.inspect(agent.name))
        #expect(after.running)
        #expect(try #require(after.startedAt) > #require(before.startedAt))
        try await supervisor.start(via: .docker)  // already running: fine
    }
}
