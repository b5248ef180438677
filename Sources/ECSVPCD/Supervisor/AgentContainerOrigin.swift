/// Who made the agent container, judged from its setup: ecs-init's container must never be restarted through the
/// Docker Engine, because the agent exits 0 on SIGTERM and ecs-init then exits too, leaving it stopped.
public enum AgentContainerOrigin: Hashable, Sendable {
    /// ecs-init made it; the marks of ecs-init's container it carries, as a person would name them.
    case ecsInit(marks: [String])
    /// It carries none, or one, of the marks: made another way (`docker run` by hand, a unit of one's own).
    case notEcsInit
    /// It could not be inspected (no such container, Docker not answering); the reason.
    case unknown(String)

    /// What ecs-init gives its container and a `docker run` as AWS documents it for manual installs does not.
    /// From aws/amazon-ecs-agent `ecs-init/docker/docker.go` (`StartAgent`, `getContainerConfig`,
    /// `getHostConfig`) and the paths in `ecs-init/config/common.go`. Not among them: the name `ecs-agent`, the
    /// image, host networking, `/var/lib/ecs/data:/data`, `/var/log/ecs:/log`, `/etc/ecs`, `ECS_DATADIR` and
    /// `ECS_LOGFILE`, which the documented `docker run` has too. ecs-init sets no label of its own (its labels
    /// come from `ECS_AGENT_LABELS`).
    static let environmentMarks = [
        // ECS_UPDATE_DOWNLOAD_DIR = CacheDirectory(), where ecs-init looks for the agent's self-update.
        "ECS_UPDATE_DOWNLOAD_DIR",
        // ECS_AGENT_CONFIG_FILE_PATH = AgentJSONConfigFile(), /etc/ecs/ecs.config.json.
        "ECS_AGENT_CONFIG_FILE_PATH",
        // ECS_AGENT_LABELS, set to "" when ecs.config does not set it.
        "ECS_AGENT_LABELS",
    ]

    /// Paths inside the container that ecs-init binds (getHostConfig): CacheDirectory() and
    /// InstanceConfigDirectory() onto themselves, and the exec agent's log directory `/var/log/ecs/exec:/log/exec`.
    static let mountMarks = ["/var/cache/ecs", "/var/lib/ecs", "/log/exec"]

    /// Two marks make it ecs-init's: ecs-init has set `ECS_UPDATE_DOWNLOAD_DIR`, `ECS_AGENT_CONFIG_FILE_PATH` and
    /// the cache bind since 2015 (the `/var/lib/ecs` bind since 2018, `ECS_AGENT_LABELS` since 2019, `/log/exec`
    /// since 2020: that file's history), while one mark alone may come from an `ecs.config` passed with `--env-file`.
    static let marksNeeded = 2

    public init(setup: ContainerSetup) {
        var marks: [String] = []
        for name in Self.environmentMarks where setup.environmentNames.contains(name) { marks.append("env \(name)") }
        let destinations = Set(setup.mounts.map(\.destination).map(Self.withoutTrailingSlash))
        for path in Self.mountMarks where destinations.contains(path) { marks.append("mount \(path)") }
        self = marks.count >= Self.marksNeeded ? .ecsInit(marks: marks) : .notEcsInit
    }

    public var isEcsInit: Bool {
        if case .ecsInit = self { return true }
        return false
    }

    private static func withoutTrailingSlash(_ path: String) -> String {
        var path = Substring(path)
        while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
        return String(path)
    }
}
