import FoundationEssentials

/// Which way the agent's live ECS connections go.
public enum AgentConnectionState: String, Sendable, Codable {
    case vpcEndpoint = "vpc-endpoint"
    case `public`
    case none
    case unknown
}

/// The facts about the agent the restart decision needs, derived purely from an `AgentObservation`.
public struct AgentFacts: Hashable, Sendable {
    public var exists: Bool
    public var running: Bool
    public var startedAt: Date?
    public var connections: AgentConnectionState
    /// The agent reaches ECS through an HTTP(S) proxy, so the host's endpoints do not matter to it.
    public var viaProxy: Bool
    /// Its cell hosts as its log names them, nil when no log was read.
    public var cells: AgentCellFacts?

    public init(
        exists: Bool, running: Bool, startedAt: Date?, connections: AgentConnectionState, viaProxy: Bool,
        cells: AgentCellFacts? = nil
    ) {
        self.exists = exists
        self.running = running
        self.startedAt = startedAt
        self.connections = connections
        self.viaProxy = viaProxy
        self.cells = cells
    }
}

/// The agent's part of the verdict: its connection state and the findings about it.
public struct AgentAssessment: Sendable {
    public var facts: AgentFacts
    public var remoteAddresses: [IPAddress]
    public var connectionsDetail: String?
    public var findings: [Finding]
    /// The cell hosts from the agent's log, resolved and probed; nil when no log was read.
    public var cells: [AgentCellReport]?

    /// The finding of a cell host on endpoint addresses that do not accept TCP: it blocks a restart.
    public static let cellHostNotAccepting = "cell-host-not-accepting"

    /// Whether every cell host the agent dials that resolves to the endpoints accepts connections there.
    public var cellHostsAcceptConnections: Bool { !findings.contains { $0.id == Self.cellHostNotAccepting } }

    /// - Parameters:
    ///   - proxy: the proxy the agent uses for the ECS names (nil: none), decided by the adapter that knows the
    ///     agent's NO_PROXY rules.
    ///   - region: this instance's region, to judge `ECS_BACKEND_HOST`.
    ///   - endpointAddresses: the endpoint addresses of the agent's websockets (ecs-agent, ecs-telemetry) now
    ///     (`EndpointAssessment.websocketEndpointAddresses`).
    ///   - cells: the cell hosts the agent's log names, resolved and probed (nil: no log read); their endpoint
    ///     addresses count as the websockets' too.
    public init(
        observation: AgentObservation, classifier: AddressClassifier, proxy: String?, region: String,
        endpointAddresses: Set<IPAddress>, cells: [AgentCellReport]? = nil, now: Date = Date()
    ) {
        var findings: [Finding] = []
        let container = observation.container
        let cellAddresses = (cells ?? []).filter(\.isWebsocket).flatMap(\.addresses).filter(\.isEndpoint).map(\.address)
        let endpointAddresses = endpointAddresses.union(cellAddresses)
        self.cells = cells
        // The agent's cache is in memory: it learns its cell hosts afresh at each start, and when a logged
        // discovery says so.
        let discoveredAt = [observation.log?.lastAnsweredDiscovery, container?.startedAt, observation.log?.lastAgentStart]
            .compactMap { $0 }.max()
        var remotes: [IPAddress] = []
        var detail: String?
        let connections: AgentConnectionState
        switch observation.sockets {
        case .remotes(let addresses):
            remotes = addresses.sorted()
            connections = Self.connectionState(remotes: addresses, classifier: classifier, endpointAddresses: endpointAddresses)
        case .unknown(let why):
            connections = .unknown
            detail = why
        }
        facts = AgentFacts(
            exists: container != nil,
            running: container?.running ?? false,
            startedAt: container?.startedAt,
            connections: connections,
            viaProxy: proxy != nil,
            cells: cells.map { AgentCellFacts(cells: $0, discoveredAt: discoveredAt, now: now) }
        )
        remoteAddresses = remotes
        connectionsDetail = detail

        if let error = observation.containerError {
            findings.append(Finding(
                id: "docker-unavailable", severity: .warning,
                message: "Cannot ask the Docker Engine about the agent: \(error)",
                hint: "Check that dockerd runs and that ECSVPCD_DOCKER_HOST points at its socket."
            ))
        } else if container == nil {
            findings.append(Finding(
                id: "agent-absent", severity: .warning,
                message: "No agent container named as configured (ECSVPCD_AGENT_CONTAINER) exists",
                hint: "Start the ECS agent (systemctl start ecs) or set ECSVPCD_AGENT_CONTAINER to its name."
            ))
        } else if container?.running == false {
            findings.append(Finding(
                id: "agent-not-running", severity: .critical,
                message: "The agent container exists but is not running",
                hint: "Start it (systemctl start ecs, or docker start ecs-agent) and read its log (docker logs ecs-agent)."
            ))
        }
        if let proxy {
            findings.append(Finding(
                id: "proxy-bypasses-endpoints", severity: .critical,
                message: "The agent reaches ECS through the proxy \(proxy) (HTTPS_PROXY/HTTP_PROXY in the agent's "
                    + "config, NO_PROXY does not cover the ECS names), so the VPC endpoints do not help it; "
                    + "ecsvpcd will not restart it",
                // Not the three names alone: the websockets dial the cells the poll endpoint names (ecs-a-4…).
                hint: "Add .amazonaws.com (or .REGION.amazonaws.com) to NO_PROXY in /etc/ecs/ecs.config (e.g. "
                    + "NO_PROXY=169.254.169.254,169.254.170.2,/var/run/docker.sock,.amazonaws.com), or make the proxy "
                    + "resolve them to the endpoints; then restart the agent."
            ))
        }
        // The agent's ECS API host after every override (AgentSettings.APIHost). The names of the ECS API in this
        // region, FIPS (ecs-fips.REGION.amazonaws.com) and dual-stack included, are not "elsewhere".
        let apiHost = observation.settings.apiHost
        if !apiHost.origins.isEmpty {
            let host = apiHost.host(instanceRegion: region)
            if !AgentSettings.APIHost.regionalHosts(region: region).contains(host) {
                let origins = apiHost.origins.map(\.description).joined(separator: " and ")
                // The configured spelling too, when it is more than the bare host (a scheme, a port, a path).
                let configured = apiHost.endpoint.map { $0.lowercased() == host ? "" : " (\($0))" } ?? ""
                let userData =
                    apiHost.origins.contains { $0.source == .userData }
                    ? " (user data: change it in the launch template and replace the instance)" : ""
                findings.append(Finding(
                    id: "backend-host-elsewhere", severity: .warning,
                    message: "The agent's API host is \(host)\(configured), set by \(origins): its API calls do not go "
                        + "to the ecs endpoint name of \(region), whatever the endpoints here",
                    hint: "Unless the agent is meant to call that host, remove \(origins)\(userData), then restart the "
                        + "agent."
                ))
            }
        }
        if let version = observation.metadata?.semanticVersion, version < AgentVersion.endpointMinimum {
            findings.append(Finding(
                id: "agent-too-old", severity: .warning,
                message: "The agent is \(version); the ECS VPC endpoints need 1.25.1 or later on EC2",
                hint: "Update the agent (a newer ECS-optimized AMI, or yum update -y ecs-init && systemctl restart ecs)."
            ))
        }
        for cell in cells ?? [] where cell.isWebsocket && cell.route != .public {
            // As for the names: an IPv6 address this host has no route to, beside an open one, does not count.
            let anyOpen = cell.addresses.contains { $0.isEndpoint && $0.tcp == "open" }
            let failing = cell.addresses.filter { address in
                address.isEndpoint && address.tcp != nil && address.tcp != "open"
                    && !(anyOpen && address.address.isIPv6 && address.tcp == "unreachable")
            }
            guard !failing.isEmpty else { continue }
            findings.append(Finding(
                id: Self.cellHostNotAccepting, severity: .critical,
                message: "The agent's cell host \(cell.host) resolves to endpoint addresses that do not accept the "
                    + "connection (" + failing.map { "\($0.address) \($0.tcp ?? "")" }.joined(separator: ", ")
                    + "): the agent loses ECS at its next redial, whatever ecsvpcd does",
                hint: "Check the endpoint's security group (inbound TCP 443 from this instance's subnet) and its "
                    + "network ACLs; ecsvpcd does not restart the agent onto it."
            ))
        }
        if facts.running, connections == .unknown, let detail {
            findings.append(Finding(
                id: "agent-connections-unknown", severity: .info,
                message: "Cannot read the agent's connections: \(detail)",
                hint: "Run ecsvpcd as root (it reads /proc/PID/fd of the agent); until then it judges by the "
                    + "agent's start time."
            ))
        }
        self.findings = findings
    }
}

extension AgentAssessment {
    /// Which way the agent talks to ECS, from the remote addresses of its connections to the probe port.
    ///
    /// The agent also holds connections on 443 to other AWS services (ECR, S3, Secrets Manager, SSM) that have no
    /// endpoints and stay public, so one public connection does not mean the agent still reaches ECS the old way:
    /// a connection to an endpoint address of its websockets (ecs-agent, ecs-telemetry) means it uses the
    /// endpoints. Without one, a public connection means the old way (an API call to the ecs endpoint alone does
    /// not move the websockets); connections only to other private addresses count as through endpoints (an
    /// endpoint's address from before a change of its address set), as a restart could not improve on them.
    public static func connectionState(
        remotes: [IPAddress], classifier: AddressClassifier, endpointAddresses: Set<IPAddress>
    ) -> AgentConnectionState {
        if remotes.isEmpty { return .none }
        if remotes.contains(where: endpointAddresses.contains) { return .vpcEndpoint }
        if remotes.contains(where: { classifier.classify($0) == .public }) { return .public }
        return .vpcEndpoint
    }
}
