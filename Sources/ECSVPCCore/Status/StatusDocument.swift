import FoundationEssentials

/// The status document (schema 1): what `check --json`, `status --json`, the control socket and the state file
/// carry. Fields are only ever added within a schema version.
public struct StatusDocument: Hashable, Sendable, Codable {
    public static let currentSchema = 1

    public struct Instance: Hashable, Sendable, Codable {
        public var id: String?
        public var region: String
        public var dnsSuffix: String
        public var vpcCIDRs: [CIDR]
        public var endpointCIDRs: [CIDR]

        public init(id: String?, region: String, dnsSuffix: String, vpcCIDRs: [CIDR], endpointCIDRs: [CIDR]) {
            self.id = id
            self.region = region
            self.dnsSuffix = dnsSuffix
            self.vpcCIDRs = vpcCIDRs
            self.endpointCIDRs = endpointCIDRs
        }
    }

    public struct Agent: Hashable, Sendable, Codable {
        public var running: Bool
        public var started: Date?
        public var version: String?
        public var cluster: String?
        /// `vpc-endpoint`, `public`, `none` or `unknown`.
        public var connections: String
        public var connectionsDetail: String?
        public var remoteAddresses: [IPAddress]
        /// `systemd` or `docker`: the way a restart would go now.
        public var supervisor: String?
        public var supervisorDetail: String?
        public var proxy: String?
        /// The hosts the agent really dials (from its log), resolved and probed; nil when not known.
        public var cells: [AgentCellReport]?
        /// When the agent would be on the endpoints without a restart.
        public var ownMove: AgentOwnMove?
        /// Where the cell hosts came from, or why they are not known (no log, unreadable log).
        public var cellsDetail: String?

        public init(
            running: Bool, started: Date?, version: String?, cluster: String?, connections: String,
            connectionsDetail: String?, remoteAddresses: [IPAddress], supervisor: String?, supervisorDetail: String?,
            proxy: String?
        ) {
            self.running = running
            self.started = started
            self.version = version
            self.cluster = cluster
            self.connections = connections
            self.connectionsDetail = connectionsDetail
            self.remoteAddresses = remoteAddresses
            self.supervisor = supervisor
            self.supervisorDetail = supervisorDetail
            self.proxy = proxy
        }
    }

    public struct RestartRecord: Hashable, Sendable, Codable {
        public var at: Date
        /// `systemd`, `docker`, or `none` for a move the agent made by itself.
        public var via: String
        /// `verified`, `settling` (verified, in its settle time), `lost-after-restart` (verified, then stopped or
        /// back on public addresses within the settle time), `failed`, `interrupted` (ecsvpcd died during it),
        /// `unverified` (ecsvpcd stopped before it could verify), `moved-by-itself` (no restart: the agent moved
        /// to the endpoints at its own redial).
        public var result: String
        public var reason: String
        public var detail: String?
        /// Seconds from the restart call (the old connections' close) to the first connection of the restarted
        /// agent seen on the endpoints.
        public var gapSeconds: Double?

        public init(at: Date, via: String, result: String, reason: String, detail: String?, gapSeconds: Double? = nil) {
            self.at = at
            self.via = via
            self.result = result
            self.reason = reason
            self.detail = detail
            self.gapSeconds = gapSeconds
        }

        public static let movedByItself = "moved-by-itself"
        public static let settling = "settling"
        public static let lostAfterRestart = "lost-after-restart"
    }

    public struct Restart: Hashable, Sendable, Codable {
        /// `RestartDecision.state`: `idle`, `confirming`, `scheduled`, `pending`, `waiting-cooldown`,
        /// `budget-spent`, `blocked`, `restarting`, `waiting-own-move`.
        public var state: String
        public var reason: String
        public var notBefore: Date?
        public var budgetLeft: Int
        public var history: [RestartRecord]

        public init(state: String, reason: String, notBefore: Date?, budgetLeft: Int, history: [RestartRecord]) {
            self.state = state
            self.reason = reason
            self.notBefore = notBefore
            self.budgetLeft = budgetLeft
            self.history = history
        }
    }

    /// What the daemon itself costs, measured when a status is asked for: a daemon that runs for months must stay
    /// flat, and this is how an operator (and the memory test) sees that it does.
    public struct Process: Hashable, Sendable, Codable {
        public var pid: Int32
        /// Cycles completed since the daemon started.
        public var cycles: Int
        /// Bytes of the C heap in use (glibc `mallinfo2().uordblks`, every arena), now.
        public var heapInUseBytes: Int
        /// The same, right after the last cycle completed: what must stay flat over months.
        public var heapAfterCycleBytes: Int?
        /// Anonymous and resident memory from `/proc/self/smaps_rollup`, KiB; nil where it cannot be read.
        public var anonymousKiB: Int?
        public var rssKiB: Int?

        public init(pid: Int32, cycles: Int, heapInUseBytes: Int, anonymousKiB: Int?, rssKiB: Int?) {
            self.pid = pid
            self.cycles = cycles
            self.heapInUseBytes = heapInUseBytes
            self.anonymousKiB = anonymousKiB
            self.rssKiB = rssKiB
        }
    }

    public var schema: Int = StatusDocument.currentSchema
    /// `check`, `daemon`, `rollout`, or `saved-state`.
    public var source: String
    public var health: Health
    public var summary: String
    public var instance: Instance
    public var endpoints: [EndpointReport]
    public var configuration: EndpointConfiguration
    /// Since when the current configuration verdict holds (daemon only).
    public var configurationSince: Date?
    public var agent: Agent?
    public var restart: Restart?
    public var findings: [Finding]
    public var updatedAt: Date
    /// The running daemon's own footprint (control-socket status only).
    public var process: Process?
    /// The related endpoints the tasks and the rollout kit need (`ECSVPCD_SERVICES`); nil when it is `off`.
    public var services: [ServiceReport]?
    /// Could this instance and its tasks work in a subnet without internet access; nil when services are `off`.
    public var readiness: Readiness?
    public var readinessDetail: String?
    /// What the related services' observation skipped or could not tell (malformed image names, log configs).
    public var servicesNotes: [String]?

    /// Sets the related services' reports, verdict and notes (daemon and check); their findings are the
    /// caller's to merge, before health is judged.
    public mutating func setServices(_ assessment: ServicesAssessment?) {
        guard let assessment else { return }
        services = assessment.services
        readiness = assessment.readiness
        readinessDetail = assessment.readinessDetail
        servicesNotes = assessment.notes.isEmpty ? nil : assessment.notes
    }

    public init(
        source: String, health: Health, summary: String, instance: Instance, endpoints: [EndpointReport],
        configuration: EndpointConfiguration, configurationSince: Date? = nil, agent: Agent?, restart: Restart?,
        findings: [Finding], updatedAt: Date
    ) {
        self.source = source
        self.health = health
        self.summary = summary
        self.instance = instance
        self.endpoints = endpoints
        self.configuration = configuration
        self.configurationSince = configurationSince
        self.agent = agent
        self.restart = restart
        self.findings = findings
        self.updatedAt = updatedAt
    }

    /// The JSON encoding used everywhere: ISO 8601 dates, sorted keys, so documents diff cleanly.
    public static func encoder(pretty: Bool = true) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
