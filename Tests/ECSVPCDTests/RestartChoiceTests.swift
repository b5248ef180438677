import ECSVPCCore
import Testing

@testable import ECSVPCD

/// The facts the choice is made of, named as in the table below.
private enum Facts {
    static let ecsInitContainer = AgentContainerOrigin.ecsInit(marks: ["env ECS_UPDATE_DOWNLOAD_DIR", "mount /var/cache/ecs"])
    static let handRunContainer = AgentContainerOrigin.notEcsInit
    static let uninspected = AgentContainerOrigin.unknown("there is no container ecs-agent")
    static let ecsInitRuns = EcsInitProcess.running(pid: 812, command: "/usr/libexec/amazon-ecs-init start")
    static let noEcsInit = EcsInitProcess.notRunning
    static let procUnreadable = EcsInitProcess.unknown("cannot list /proc: Permission denied")
    static let states: [AgentUnitState] = [
        .active, .notActive("inactive"), .notActive("failed"), .absent, .busUnavailable("no system bus"),
        .unknown("Connection refused"),
    ]
    static let containers = [ecsInitContainer, handRunContainer, uninspected]
    static let processes = [ecsInitRuns, noEcsInit, procUnreadable]

    static var all: [(AgentUnitState, AgentContainerOrigin, EcsInitProcess)] {
        states.flatMap { state in containers.flatMap { container in processes.map { (state, container, $0) } } }
    }
}

private func choose(
    _ via: RestartVia, _ state: AgentUnitState, _ container: AgentContainerOrigin, _ process: EcsInitProcess
) -> (RestartPath?, String) {
    chooseRestartPath(via: via, unit: "ecs.service", state: state, container: container, ecsInit: process)
}

@Suite("Restart path under ecs-init")
struct RestartChoiceTests {
    typealias Row = (state: AgentUnitState, container: AgentContainerOrigin, process: EcsInitProcess, path: RestartPath?)

    /// ECSVPCD_RESTART_VIA=auto, every unit state × container origin × ecs-init process.
    static let autoTable: [Row] = {
        let (I, H, C) = (Facts.ecsInitContainer, Facts.handRunContainer, Facts.uninspected)
        let (P, N, U) = (Facts.ecsInitRuns, Facts.noEcsInit, Facts.procUnreadable)
        let rows: [Row] = [
            // A loaded unit, active or not: through systemd, whatever else is seen.
            (.active, I, P, .systemd), (.active, I, N, .systemd), (.active, I, U, .systemd),
            (.active, H, P, .systemd), (.active, H, N, .systemd), (.active, H, U, .systemd),
            (.active, C, P, .systemd), (.active, C, N, .systemd), (.active, C, U, .systemd),
            (.notActive("inactive"), I, P, .systemd), (.notActive("inactive"), I, N, .systemd),
            (.notActive("inactive"), I, U, .systemd), (.notActive("inactive"), H, P, .systemd),
            (.notActive("inactive"), H, N, .systemd), (.notActive("inactive"), H, U, .systemd),
            (.notActive("inactive"), C, P, .systemd), (.notActive("inactive"), C, N, .systemd),
            (.notActive("inactive"), C, U, .systemd),
            (.notActive("failed"), I, P, .systemd), (.notActive("failed"), I, N, .systemd),
            (.notActive("failed"), I, U, .systemd), (.notActive("failed"), H, P, .systemd),
            (.notActive("failed"), H, N, .systemd), (.notActive("failed"), H, U, .systemd),
            (.notActive("failed"), C, P, .systemd), (.notActive("failed"), C, N, .systemd),
            (.notActive("failed"), C, U, .systemd),
            // No unit: Docker only where neither ecs-init's container nor its process is seen, and one of them is
            // known not to be.
            (.absent, I, P, nil), (.absent, I, N, nil), (.absent, I, U, nil),
            (.absent, H, P, nil), (.absent, H, N, .docker), (.absent, H, U, .docker),
            (.absent, C, P, nil), (.absent, C, N, .docker), (.absent, C, U, nil),
            // No system bus: the same.
            (.busUnavailable("no system bus"), I, P, nil), (.busUnavailable("no system bus"), I, N, nil),
            (.busUnavailable("no system bus"), I, U, nil), (.busUnavailable("no system bus"), H, P, nil),
            (.busUnavailable("no system bus"), H, N, .docker), (.busUnavailable("no system bus"), H, U, .docker),
            (.busUnavailable("no system bus"), C, P, nil), (.busUnavailable("no system bus"), C, N, .docker),
            (.busUnavailable("no system bus"), C, U, nil),
            // systemd not answering: the unit may supervise the agent, so nothing until it answers.
            (.unknown("Connection refused"), I, P, nil), (.unknown("Connection refused"), I, N, nil),
            (.unknown("Connection refused"), I, U, nil), (.unknown("Connection refused"), H, P, nil),
            (.unknown("Connection refused"), H, N, nil), (.unknown("Connection refused"), H, U, nil),
            (.unknown("Connection refused"), C, P, nil), (.unknown("Connection refused"), C, N, nil),
            (.unknown("Connection refused"), C, U, nil),
        ]
        return rows
    }()

    @Test("the auto table covers every combination once")
    func tableIsComplete() {
        #expect(Self.autoTable.count == Facts.all.count)
        for (state, container, process) in Facts.all {
            #expect(Self.autoTable.filter { $0.state == state && $0.container == container && $0.process == process }.count == 1)
        }
    }

    @Test(
        "with auto, a loaded ecs.service is restarted through systemd and Docker is used only where no ecs-init is seen",
        arguments: Self.autoTable.indices
    )
    func viaAuto(row: Int) {
        let (state, container, process, expected) = Self.autoTable[row]
        let (path, why) = choose(.auto, state, container, process)
        #expect(path == expected, "\(state), \(container), \(process): \(why)")
        switch state {
        case .notActive(let active):
            #expect(why.contains("loaded but \(active)"))
            #expect(why.contains("never restarts through the Docker Engine"))
        case .absent, .busUnavailable:
            if expected == nil { #expect(why.hasPrefix("restart blocked: ")) }
            if state == .absent { #expect(why.contains("there is no ecs.service")) }
            if case .busUnavailable = state { #expect(why.contains("no system bus")) }
            // The facts that decided are named.
            if process == Facts.ecsInitRuns { #expect(why.contains("pid 812: /usr/libexec/amazon-ecs-init start")) }
            if container == Facts.ecsInitContainer { #expect(why.contains("ecs-init created the agent container")) }
            if expected == .docker {
                #expect(why.contains("does not carry ecs-init's marks") || why.contains("no ecs-init process runs"))
            }
        case .unknown:
            #expect(why.contains("Connection refused"))
        case .active:
            #expect(why.contains("ecs.service is active"))
        }
    }

    @Test("ecs-init running without a system bus blocks the restart and says so", arguments: [Facts.ecsInitContainer, Facts.handRunContainer, Facts.uninspected])
    func blockedWithoutBus(container: AgentContainerOrigin) {
        let (path, why) = choose(.auto, .busUnavailable("no system bus: sd_bus_open_system: No such file or directory"), container, Facts.ecsInitRuns)
        #expect(path == nil)
        #expect(why.hasPrefix("restart blocked: there is no system bus"))
        #expect(why.contains("ecs-init runs (pid 812"))
        #expect(why.contains("a Docker restart under ecs-init ends with the agent stopped"))
        #expect(why.contains("waits until the system bus answers"))
    }

    @Test("ECSVPCD_RESTART_VIA=docker always restarts through Docker, warning when ecs-init is seen", arguments: Facts.all.indices)
    func viaDocker(index: Int) {
        let (state, container, process) = Facts.all[index]
        let (path, why) = choose(.docker, state, container, process)
        #expect(path == .docker)
        #expect(why.hasPrefix("through the Docker Engine (ECSVPCD_RESTART_VIA=docker)"))
        let ecsInitSeen = state == .active || container.isEcsInit || process == Facts.ecsInitRuns
        #expect(why.contains("warning: under ecs-init a Docker restart ends with the agent stopped") == ecsInitSeen, "\(why)")
        if container.isEcsInit { #expect(why.contains("ecs-init created the agent container (env ECS_UPDATE_DOWNLOAD_DIR")) }
        if process == Facts.ecsInitRuns { #expect(why.contains("pid 812")) }
    }

    @Test("ECSVPCD_RESTART_VIA=systemd goes by the unit alone and never through Docker", arguments: Facts.all.indices)
    func viaSystemd(index: Int) {
        let (state, container, process) = Facts.all[index]
        let (path, why) = choose(.systemd, state, container, process)
        switch state {
        case .active, .notActive: #expect(path == .systemd)
        case .absent, .busUnavailable, .unknown:
            #expect(path == nil)
            #expect(why.contains("rules out Docker"))
        }
        #expect(why.contains("ECSVPCD_RESTART_VIA=systemd"))
    }
}

@Suite("The agent container's origin, from its inspect")
struct AgentContainerOriginTests {
    /// `GET /containers/ecs-agent/json` of the container ecs-init creates on Amazon Linux 2023, shortened: modelled
    /// on aws/amazon-ecs-agent (8dfceca) `ecs-init/docker/docker.go` (`StartAgent`, `getContainerConfig`,
    /// `getHostConfig`), `ecs-init/docker/docker_config.go` (`createHostConfig`) and the paths of
    /// `ecs-init/config/common.go` and `config_al2.go`. Values of ecs.config are passed into Env, so the sample has
    /// a credential there too: it must not come out of the decoding.
    static let ecsInitInspect = """
        {"Id":"5e1f0c2a9b","Name":"/ecs-agent","RestartCount":0,
         "State":{"Status":"running","Running":true,"Pid":9120,"StartedAt":"2026-12-07T03:00:55.118Z"},
         "Config":{"Image":"amazon/amazon-ecs-agent:latest","Labels":null,
          "Env":["ECS_LOGFILE=/log/ecs-agent.log","ECS_DATADIR=/data",
           "ECS_AGENT_CONFIG_FILE_PATH=/etc/ecs/ecs.config.json","ECS_UPDATE_DOWNLOAD_DIR=/var/cache/ecs",
           "ECS_UPDATES_ENABLED=true","ECS_AVAILABLE_LOGGING_DRIVERS=[\\"json-file\\",\\"syslog\\",\\"awslogs\\",\\"fluentd\\",\\"none\\"]",
           "ECS_ENABLE_TASK_IAM_ROLE=true","ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST=true","ECS_EBSTA_SUPPORTED=true",
           "ECS_AGENT_LABELS=","ECS_VOLUME_PLUGIN_CAPABILITIES=[\\"efsAuth\\"]","ECS_DETAILED_OS_FAMILY=amzn_2023",
           "SSL_CERT_DIR=/etc/pki/tls/certs","ECS_ENABLE_TASK_ENI=true","ECS_ENABLE_AWSLOGS_EXECUTIONROLE_OVERRIDE=true",
           "ECS_CLUSTER=prod","ECS_ENGINE_AUTH_DATA=secret-token-value"]},
         "HostConfig":{"NetworkMode":"host","UsernsMode":"host","CapAdd":["NET_ADMIN","SYS_ADMIN"],"Init":true,
          "LogConfig":{"Type":"json-file","Config":{"max-file":"4","max-size":"16m"}},
          "Binds":["/var/run:/var/run","/var/log/ecs:/log","/var/lib/ecs/data:/data","/etc/ecs:/etc/ecs",
           "/var/cache/ecs:/var/cache/ecs","/sys/fs/cgroup:/sys/fs/cgroup","/var/lib/ecs:/var/lib/ecs",
           "/var/log/ecs/exec:/log/exec","/etc/pki:/etc/pki:ro","/proc:/host/proc:ro","/sbin:/host/sbin:ro"]},
         "Mounts":[
          {"Type":"bind","Source":"/var/run","Destination":"/var/run","Mode":"","RW":true,"Propagation":"rprivate"},
          {"Type":"bind","Source":"/var/log/ecs","Destination":"/log","Mode":"","RW":true,"Propagation":"rprivate"},
          {"Type":"bind","Source":"/var/lib/ecs/data","Destination":"/data","Mode":"","RW":true,"Propagation":"rprivate"},
          {"Type":"bind","Source":"/etc/ecs","Destination":"/etc/ecs","Mode":"","RW":true,"Propagation":"rprivate"},
          {"Type":"bind","Source":"/var/cache/ecs","Destination":"/var/cache/ecs","Mode":"","RW":true,"Propagation":"rprivate"},
          {"Type":"bind","Source":"/sys/fs/cgroup","Destination":"/sys/fs/cgroup","Mode":"","RW":true,"Propagation":"rprivate"},
          {"Type":"bind","Source":"/var/lib/ecs","Destination":"/var/lib/ecs","Mode":"","RW":true,"Propagation":"rprivate"},
          {"Type":"bind","Source":"/var/log/ecs/exec","Destination":"/log/exec","Mode":"","RW":true,"Propagation":"rprivate"},
          {"Type":"bind","Source":"/etc/pki","Destination":"/etc/pki","Mode":"ro","RW":false,"Propagation":"rprivate"},
          {"Type":"bind","Source":"/proc","Destination":"/host/proc","Mode":"ro","RW":false,"Propagation":"rprivate"},
          {"Type":"bind","Source":"/sbin","Destination":"/host/sbin","Mode":"ro","RW":false,"Propagation":"rprivate"}]}
        """

    /// The `docker run` AWS documents for installing the agent by hand ("Installing the Amazon ECS container agent"
    /// on a non-Amazon Linux instance): the same name, image, network and data, log and config binds, none of
    /// ecs-init's marks. `--env-file=/etc/ecs/ecs.config` brought one of them (ECS_UPDATE_DOWNLOAD_DIR) in.
    static let handRunInspect = """
        {"Id":"77aa01","Name":"/ecs-agent","State":{"Running":true,"Pid":3000,"StartedAt":"2026-12-07T03:00:55Z"},
         "Config":{"Image":"amazon/amazon-ecs-agent:latest","Labels":{},
          "Env":["ECS_LOGFILE=/log/ecs-agent.log","ECS_DATADIR=/data/","ECS_ENABLE_TASK_IAM_ROLE=true",
           "ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST=true","ECS_CLUSTER=prod","ECS_UPDATE_DOWNLOAD_DIR=/var/cache/ecs"]},
         "HostConfig":{"NetworkMode":"host","RestartPolicy":{"Name":"on-failure","MaximumRetryCount":10}},
         "Mounts":[
          {"Type":"bind","Source":"/var/run","Destination":"/var/run","RW":true},
          {"Type":"bind","Source":"/var/log/ecs","Destination":"/log","RW":true},
          {"Type":"bind","Source":"/var/lib/ecs/data","Destination":"/data","RW":true},
          {"Type":"bind","Source":"/etc/ecs","Destination":"/etc/ecs","RW":true}]}
        """

    @Test("decodes ecs-init's container: its setup, environment names only, and all six marks")
    func ecsInitContainer() throws {
        let (container, setup) = try DockerEngine.inspected(fromInspect: Array(Self.ecsInitInspect.utf8), context: "test")
        #expect(container.running && container.pid == 9120 && container.image == "amazon/amazon-ecs-agent:latest")
        #expect(setup.name == "ecs-agent")
        #expect(setup.image == "amazon/amazon-ecs-agent:latest")
        #expect(setup.networkMode == "host")
        #expect(setup.labels.isEmpty)
        #expect(setup.environmentNames.contains("ECS_AGENT_LABELS"))
        #expect(setup.environmentNames.contains("ECS_ENGINE_AUTH_DATA"))
        #expect(!"\(setup)".contains("secret-token-value"))
        #expect(setup.mounts.count == 11)
        #expect(setup.mounts.contains(ContainerSetup.Mount(source: "/var/log/ecs/exec", destination: "/log/exec")))
        #expect(
            AgentContainerOrigin(setup: setup) == .ecsInit(marks: [
                "env ECS_UPDATE_DOWNLOAD_DIR", "env ECS_AGENT_CONFIG_FILE_PATH", "env ECS_AGENT_LABELS",
                "mount /var/cache/ecs", "mount /var/lib/ecs", "mount /log/exec",
            ])
        )
    }

    @Test("a container run by hand as AWS documents it is not ecs-init's, even with one mark from ecs.config")
    func handRunContainer() throws {
        let (_, setup) = try DockerEngine.inspected(fromInspect: Array(Self.handRunInspect.utf8), context: "test")
        #expect(setup.name == "ecs-agent" && setup.networkMode == "host")
        #expect(AgentContainerOrigin(setup: setup) == .notEcsInit)
    }

    @Test("an older ecs-init (2015–2018: update directory, JSON config path, cache bind) is recognised")
    func olderEcsInit() {
        let setup = ContainerSetup(
            name: "ecs-agent", image: "amazon/amazon-ecs-agent:latest",
            environmentNames: ["ECS_UPDATE_DOWNLOAD_DIR", "ECS_AGENT_CONFIG_FILE_PATH", "ECS_LOGFILE"],
            mounts: [ContainerSetup.Mount(source: "/var/cache/ecs", destination: "/var/cache/ecs/")], networkMode: "host"
        )
        #expect(AgentContainerOrigin(setup: setup).isEcsInit)
    }

    @Test("an inspect without Env, Mounts, HostConfig or Labels decodes to an empty setup, not an error")
    func sparseInspect() throws {
        let body = #"{"Id":"1","State":{"Running":false,"Pid":0},"Config":{"Env":null,"Labels":null},"Mounts":null}"#
        let (container, setup) = try DockerEngine.inspected(fromInspect: Array(body.utf8), context: "test")
        #expect(!container.running)
        #expect(setup == ContainerSetup(name: "", image: "", environmentNames: [], mounts: [], networkMode: ""))
        #expect(AgentContainerOrigin(setup: setup) == .notEcsInit)
    }
}
