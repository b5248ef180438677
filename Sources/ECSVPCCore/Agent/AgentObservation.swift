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
    /// `ECS_BACKEND_HOST` as ecs.config sets it (raw, non-empty). Not always the host the agent uses: see `apiHost`.
    public var backendHost: String?
    /// The host the agent's ECS client calls, after every override in the agent's order of precedence.
    public var apiHost: APIHost
    /// The files that were read, in order.
    public var sources: [String]

    /// Where one of the agent's settings was set: which name, in which file (and line) or in the user data.
    public struct Origin: Hashable, Sendable, Codable, CustomStringConvertible {
        public enum Source: String, Hashable, Sendable, Codable {
            /// An ecs.config file: ecs-init passes each line to the agent as an environment variable.
            case ecsConfig = "ecs.config"
            /// The agent's JSON config file (ecs-init sets `ECS_AGENT_CONFIG_FILE_PATH=/etc/ecs/ecs.config.json`).
            case ecsConfigJSON = "ecs.config.json"
            /// The instance's user data, `{"ECSAgentConfiguration": {...}}`.
            case userData = "user-data"
        }

        /// The variable or JSON key: `ECS_BACKEND_HOST`, `APIEndpoint`, `AWS_ENDPOINT_URL_ECS`, `AWS_USE_FIPS_ENDPOINT`…
        public var setting: String
        public var source: Source
        /// The file, nil for user data (or when not known).
        public var path: String?
        /// The line in an ecs.config file.
        public var line: Int?

        public init(setting: String, source: Source, path: String? = nil, line: Int? = nil) {
            self.setting = setting
            self.source = source
            self.path = path
            self.line = line
        }

        public var description: String {
            switch source {
            case .userData:
                return "ECSAgentConfiguration.\(setting) in the instance's user data"
            case .ecsConfig, .ecsConfigJSON:
                guard let path else { return "\(setting) in the agent's \(source.rawValue)" }
                return "\(setting) in \(path)" + (line.map { " line \($0)" } ?? "")
            }
        }
    }

    /// The agent's ECS API host: either an endpoint it is given (the SDK's base endpoint), or the name the AWS SDK
    /// builds from the region, FIPS and dual-stack switches (ecs-agent/api/ecs/client/ecs_client.go,
    /// `newECSConfig`; the SDK's `service/ecs/endpoints.go` rules).
    public struct APIHost: Hashable, Sendable, Codable {
        /// The endpoint as configured (a URL or a bare host), nil when the SDK builds the name.
        public var endpoint: String?
        /// The region the agent is configured with (`AWS_DEFAULT_REGION`, `AWSRegion`), nil: the instance's.
        public var region: String?
        public var fips: Bool
        public var dualStack: Bool
        /// What set the endpoint, or the switches and region that shaped the built name; empty: all defaults.
        public var origins: [Origin]

        public init(endpoint: String? = nil, region: String? = nil, fips: Bool = false, dualStack: Bool = false, origins: [Origin] = []) {
            self.endpoint = endpoint
            self.region = region
            self.fips = fips
            self.dualStack = dualStack
            self.origins = origins
        }

        /// The host name the agent's API calls go to, lower case, without scheme, port or path.
        public func host(instanceRegion: String) -> String {
            if let endpoint { return Self.hostName(endpoint) }
            let region = (self.region ?? instanceRegion).lowercased()
            let suffixes = Self.partitionSuffixes(region: region)
            return "\(fips ? "ecs-fips" : "ecs").\(region).\(dualStack ? suffixes.dualStack : suffixes.plain)"
        }

        /// The names of the ECS API in `region`: plain, FIPS, dual-stack and both (what the SDK would build).
        public static func regionalHosts(region: String) -> Set<String> {
            let region = region.lowercased()
            let suffixes = partitionSuffixes(region: region)
            return Set(["ecs", "ecs-fips"].flatMap { label in
                [suffixes.plain, suffixes.dualStack].map { "\(label).\(region).\($0)" }
            })
        }

        /// The host of a URL or `host[:port][/path]`: scheme, user info, port, path and a final dot dropped.
        public static func hostName(_ endpoint: String) -> String {
            var text = Substring(endpoint.lowercased())
            if let scheme = text.firstRange(of: "://") { text = text[scheme.upperBound...] }
            text = text.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            if let at = text.lastIndex(of: "@") { text = text[text.index(after: at)...] }
            if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
                return String(text[text.index(after: text.startIndex)..<close])
            }
            if let colon = text.firstIndex(of: ":") { text = text[..<colon] }
            if text.hasSuffix(".") { text = text.dropLast() }
            return String(text)
        }

        /// The AWS SDK's partitions (aws-sdk-go-v2 internal/endpoints/awsrulesfn/partitions.json): DNS suffix and
        /// dual-stack DNS suffix by region prefix; unknown regions fall back to aws, as the SDK does.
        static func partitionSuffixes(region: String) -> (plain: String, dualStack: String) {
            let table: [(prefix: String, plain: String, dualStack: String)] = [
                ("cn-", "amazonaws.com.cn", "api.amazonwebservices.com.cn"),
                ("eusc-", "amazonaws.eu", "api.amazonwebservices.eu"),
                ("us-isob-", "sc2s.sgov.gov", "api.aws.scloud"),
                ("us-isof-", "csp.hci.ic.gov", "api.aws.hci.ic.gov"),
                ("us-iso-", "c2s.ic.gov", "api.aws.ic.gov"),
                ("eu-isoe-", "cloud.adc-e.uk", "api.cloud-aws.adc-e.uk"),
            ]
            let entry = table.first { region.hasPrefix($0.prefix) }
            return (entry?.plain ?? "amazonaws.com", entry?.dualStack ?? "api.aws")
        }
    }

    /// `apiHost` defaults to what `backendHost` alone would give (ECS_BACKEND_HOST, else the SDK's own name).
    public init(
        httpsProxy: String? = nil,
        httpProxy: String? = nil,
        noProxy: String? = nil,
        backendHost: String? = nil,
        apiHost: APIHost? = nil,
        sources: [String] = []
    ) {
        self.httpsProxy = httpsProxy
        self.httpProxy = httpProxy
        self.noProxy = noProxy
        self.backendHost = backendHost
        let trimmed = backendHost?.trimmingWhitespace() ?? ""
        self.apiHost = apiHost
            ?? (trimmed.isEmpty
                ? APIHost()
                : APIHost(endpoint: trimmed, origins: [Origin(setting: "ECS_BACKEND_HOST", source: .ecsConfig)]))
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
    /// What the agent's log said so far (its cell hosts, discovery, start), nil when no log could be read.
    public var log: AgentLogSummary?
    /// Where the log was read (a path, or the container's log), or why it could not be.
    public var logDetail: String?

    public init(
        container: AgentContainer?,
        containerError: String?,
        metadata: AgentMetadata?,
        metadataError: String?,
        settings: AgentSettings,
        sockets: AgentSockets,
        supervisor: RestartPath?,
        supervisorDetail: String,
        log: AgentLogSummary? = nil,
        logDetail: String? = nil
    ) {
        self.log = log
        self.logDetail = logDetail
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
