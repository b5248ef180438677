import FoundationEssentials

/// The agent container as the Docker Engine reports it.
public struct AgentContainer: Hashable, Sendable, Codable {
    public var id: String
    public var running: Bool
    /// Host pid of the container's main process; 0 when not running.
    public var pid: Int32
    public var startedAt: Date?
    public var image: String
    public var restartCount: Int

    public init(id: String, running: Bool, pid: Int32, startedAt: Date?, image: String, restartCount: Int = 0) {
        self.id = id
        self.running = running
        self.pid = pid
        self.startedAt = startedAt
        self.image = image
        self.restartCount = restartCount
    }
}

/// What the agent's introspection API (`/v1/metadata`) says about itself.
public struct AgentMetadata: Hashable, Sendable, Codable {
    public var cluster: String?
    public var containerInstanceArn: String?
    /// The raw version line, e.g. `Amazon ECS Agent - v1.86.0 (a1b2c3d)`.
    public var version: String?

    public init(cluster: String?, containerInstanceArn: String?, version: String?) {
        self.cluster = cluster
        self.containerInstanceArn = containerInstanceArn
        self.version = version
    }

    /// The semantic version parsed from `version`, if it has one.
    public var semanticVersion: AgentVersion? { version.flatMap(AgentVersion.init(versionLine:)) }
}

/// An agent version such as 1.86.0, comparable so the 1.25.1 minimum can be checked.
public struct AgentVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int

    /// The first version that supports the ECS interface VPC endpoints on the EC2 launch type.
    public static let endpointMinimum = AgentVersion(major: 1, minor: 25, patch: 1)

    public init(major: Int, minor: Int, patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Reads `v1.86.0` anywhere in a line like `Amazon ECS Agent - v1.86.0 (a1b2c3d)`, or a bare `1.86.0`.
    public init?(versionLine: String) {
        for word in versionLine.split(separator: " ") {
            let trimmed = word.hasPrefix("v") ? word.dropFirst() : word[...]
            let parts = trimmed.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3, let a = Int(parts[0]), let b = Int(parts[1]),
                let c = Int(parts[2].prefix { $0.isNumber }), !parts[2].isEmpty
            else { continue }
            self.init(major: a, minor: b, patch: c)
            return
        }
        return nil
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (lhs: AgentVersion, rhs: AgentVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }
}

/// The agent's settings from the files ecs-init hands it (later files win), as far as they matter here.
public struct AgentSettings: Hashable, Sendable, Codable {
    public var httpsProxy: String?
    public var httpProxy: String?
    public var noProxy: String?
    public var backendHost: String?
    /// The files that were read, in order.
    public var sources: [String]

    public init(
        httpsProxy: String? = nil,
        httpProxy: String? = nil,
        noProxy: String? = nil,
        backendHost: String? = nil,
        sources: [String] = []
    ) {
        self.httpsProxy = httpsProxy
        self.httpProxy = httpProxy
        self.noProxy = noProxy
        self.backendHost = backendHost
        self.sources = sources
    }
}

/// The agent's established TCP connections to the probe port, before classification.
public enum AgentSockets: Hashable, Sendable {
    /// Remote addresses of the established connections (possibly empty).
    case remotes([IPAddress])
    /// The connections could not be read; the text says why (e.g. no permission on /proc/PID/fd).
    case unknown(String)
}

/// Which way the supervisor restarts the agent.
public enum RestartPath: String, Sendable, Codable {
    case systemd
    case docker
}

/// Everything learned about the agent in one observation.
public struct AgentObservation: Sendable {
    /// nil when the container does not exist; `containerError` says why when Docker could not be asked.
    public var container: AgentContainer?
    public var containerError: String?
    public var metadata: AgentMetadata?
    public var metadataError: String?
    public var settings: AgentSettings
    public var sockets: AgentSockets
    /// The restart path that would be used now, and why.
    public var supervisor: RestartPath?
    public var supervisorDetail: String

    public init(
        container: AgentContainer?,
        containerError: String?,
        metadata: AgentMetadata?,
        metadataError: String?,
        settings: AgentSettings,
        sockets: AgentSockets,
        supervisor: RestartPath?,
        supervisorDetail: String
    ) {
        self.container = container
        self.containerError = containerError
        self.metadata = metadata
        self.metadataError = metadataError
        self.settings = settings
        self.sockets = sockets
        self.supervisor = supervisor
        self.supervisorDetail = supervisorDetail
    }
}
