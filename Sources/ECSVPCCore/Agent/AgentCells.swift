import FoundationEssentials

/// A host the agent really dials (named in its log), resolved, classified and probed like the endpoint names.
///
/// The agent does not dial `ecs-a`/`ecs-t` but the cell hosts its DiscoverPollEndpoint answer named
/// (`ecs-a-4.REGION.SUFFIX`, `ecs-t-4…`), cached for 12 h: how those resolve decides whether it can move.
public struct AgentCellReport: Hashable, Sendable, Codable {
    public var service: AgentCellService
    public var host: String
    public var addresses: [AddressReport]
    public var route: EndpointRoute
    /// `log` (the agent's log file or its container's log) or `connections`.
    public var source: String
    /// When the agent plans to close this websocket and redial (from its log), if known.
    public var plannedRedial: Date?
    /// The time of the last line of the agent's that named this host.
    public var lastSeen: Date?

    public init(
        service: AgentCellService, host: String, addresses: [AddressReport], route: EndpointRoute, source: String,
        plannedRedial: Date?, lastSeen: Date? = nil
    ) {
        self.lastSeen = lastSeen
        self.service = service
        self.host = host
        self.addresses = addresses
        self.route = route
        self.source = source
        self.plannedRedial = plannedRedial
    }

    /// ACS and TCS: the websockets that a running agent keeps until it redials.
    public var isWebsocket: Bool { service == .ecsAgent || service == .ecsTelemetry }
}

/// When the agent will be on the endpoints without a restart, and why that is the estimate.
public struct AgentOwnMove: Hashable, Sendable, Codable {
    public enum Because: String, Hashable, Sendable, Codable {
        /// Its cell hosts already resolve to the endpoints: it moves at its next redial.
        case cellHostsPrivate = "cell-hosts-private"
        /// Its cached cell hosts are public: it moves at the first redial after its 12 h cache entry expires.
        case cacheExpiry = "cache-expiry"
        /// Nothing tells: no log naming its cell hosts.
        case unknown
    }

    /// nil when `because` is `unknown` and nothing bounds it.
    public var expectedBy: Date?
    public var because: Because

    public init(expectedBy: Date?, because: Because) {
        self.expectedBy = expectedBy
        self.because = because
    }

    /// Facts of the agent's source (aws/amazon-ecs-agent 1.105.1): `defaultPollEndpointCacheTTL = 12 * time.Hour`
    /// (ecs-agent/api/ecs/client/ecs_client.go); each websocket is closed by the agent after 30 min plus up to
    /// 5 min of jitter (ecs-agent/wsclient/client.go, DisconnectTimeout, DisconnectJitterMax) and redialled with
    /// a fresh DNS lookup.
    public static let cacheTTL: TimeInterval = 12 * 3600
    public static let longestConnection: TimeInterval = 35 * 60

    /// The forecast from the agent's cell hosts as they resolve now, its last discovery (a logged fresh
    /// DiscoverPollEndpoint, else its start: the cache is in memory) and its planned redials.
    public static func forecast(cells: [AgentCellReport], discoveredAt: Date?, now: Date) -> AgentOwnMove {
        let websockets = cells.filter(\.isWebsocket)
        guard !websockets.isEmpty else {
            return AgentOwnMove(expectedBy: nil, because: .unknown)
        }
        if websockets.allSatisfy({ $0.route == .vpcEndpoint }) {
            // Each websocket moves at its own next redial; the later one is when both are on the endpoints. A
            // redial already past (the log is behind) is bounded by the longest connection from now.
            let redials = websockets.map { cell -> Date in
                guard let planned = cell.plannedRedial, planned > now else {
                    return now.addingTimeInterval(longestConnection)
                }
                return planned
            }
            return AgentOwnMove(expectedBy: redials.max(), because: .cellHostsPrivate)
        }
        guard let discoveredAt else { return AgentOwnMove(expectedBy: nil, because: .unknown) }
        // The cache entry is refreshed at the first redial after it expired; the next expiry after now, then
        // at most one connection's length until the redial that asks afresh.
        var expiry = discoveredAt.addingTimeInterval(cacheTTL)
        while expiry <= now { expiry = expiry.addingTimeInterval(cacheTTL) }
        return AgentOwnMove(expectedBy: expiry.addingTimeInterval(longestConnection), because: .cacheExpiry)
    }
}

/// What the restart decision needs of the agent's cell hosts.
public struct AgentCellFacts: Hashable, Sendable {
    /// A websocket cell host (ACS or TCS) is known from the agent's log.
    public var known: Bool
    /// The public websocket cell hosts (route public or mixed).
    public var publicHosts: [String]
    /// Those of them the agent's log named at or after `discoveredAt`: the answer of its last discovery, not the
    /// previous one's still in the log while a discovery call (or a restarted agent's first) has no answer yet.
    public var publicHostsOfLastDiscovery: [String]
    /// When the agent last learned its cell hosts afresh (a logged discovery with its answer, else its start).
    public var discoveredAt: Date?
    public var ownMove: AgentOwnMove

    public init(
        known: Bool, publicHosts: [String], publicHostsOfLastDiscovery: [String]? = nil, discoveredAt: Date?,
        ownMove: AgentOwnMove
    ) {
        self.known = known
        self.publicHosts = publicHosts
        self.publicHostsOfLastDiscovery = publicHostsOfLastDiscovery ?? publicHosts
        self.discoveredAt = discoveredAt
        self.ownMove = ownMove
    }

    public init(cells: [AgentCellReport], discoveredAt: Date?, now: Date) {
        let websockets = cells.filter(\.isWebsocket)
        let publicCells = websockets.filter { $0.route == .public || $0.route == .mixed }
        self.init(
            known: !websockets.isEmpty,
            publicHosts: publicCells.map(\.host),
            publicHostsOfLastDiscovery: publicCells.filter { cell in
                guard let discoveredAt else { return false }
                // The log's times are whole seconds (RFC 3339 without a fraction), the container's start is not.
                return cell.lastSeen.map { $0.addingTimeInterval(1) > discoveredAt } ?? false
            }.map(\.host),
            discoveredAt: discoveredAt,
            ownMove: AgentOwnMove.forecast(cells: cells, discoveredAt: discoveredAt, now: now)
        )
    }
}
