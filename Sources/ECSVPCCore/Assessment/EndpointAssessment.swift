/// The pure verdict over one observation of the watched names: routes, configuration, findings, health.
public struct EndpointAssessment: Hashable, Sendable, Codable {
    public var endpoints: [EndpointReport]
    public var configuration: EndpointConfiguration
    public var findings: [Finding]

    public init(endpoints: [EndpointReport], configuration: EndpointConfiguration, findings: [Finding]) {
        self.endpoints = endpoints
        self.configuration = configuration
        self.findings = findings
    }

    /// Worst of the findings; `ok` when there are none.
    public var health: Health {
        findings.map(\.severity.health).max() ?? .ok
    }

    /// The three required names' reports, in creation order.
    public var required: [EndpointReport] { endpoints.filter { $0.service != .extra } }

    /// The endpoint addresses (in the VPC or an endpoint range) of the ecs-agent and ecs-telemetry names: those
    /// of the agent's long-lived websockets (ACS, TCS), which a running agent keeps on public addresses until it
    /// restarts. A connection to one of them means the agent uses the endpoints. Not the ecs name's: the agent's
    /// API calls open new connections that reach the new endpoint without a restart, while its websockets stay
    /// public.
    public var websocketEndpointAddresses: Set<IPAddress> {
        Set(
            required.filter { $0.service == .ecsAgent || $0.service == .ecsTelemetry }
                .flatMap(\.addresses).filter(\.isEndpoint).map(\.address)
        )
    }

    /// True when every endpoint address of every required name accepts TCP on the probe port.
    public var endpointsAcceptConnections: Bool {
        configuration == .vpcEndpoints && required.allSatisfy(\.allEndpointAddressesOpen)
    }

    public init(observations: [EndpointObservation], classifier: AddressClassifier, probePort: Int) {
        let reports = observations.map { EndpointAssessment.report(for: $0, classifier: classifier) }
        let configuration = EndpointAssessment.configuration(of: reports)
        self.init(
            endpoints: reports,
            configuration: configuration,
            findings: EndpointFindings.findings(
                reports: reports,
                observations: observations,
                configuration: configuration,
                probePort: probePort
            )
        )
    }

    public static func report(for observation: EndpointObservation, classifier: AddressClassifier) -> EndpointReport {
        let resolution = observation.resolution
        let addresses = resolution.addresses.map {
            AddressReport(
                address: $0.address,
                class: classifier.classify($0.address),
                ttl: $0.ttl,
                probe: observation.probes[$0.address]
            )
        }
        let (route, placement) = route(of: addresses)
        let amazonRoute = observation.amazonResolution.map { amazon in
            Self.route(of: amazon.addresses.map {
                AddressReport(address: $0.address, class: classifier.classify($0.address), ttl: $0.ttl, probe: nil)
            }).0
        }
        return EndpointReport(
            service: observation.watched.service,
            name: observation.watched.name,
            route: route,
            placement: placement,
            resolution: ResolutionReport(resolution),
            addresses: addresses,
            amazonDNSRoute: amazonRoute
        )
    }

    /// `vpc-endpoint` when every address is in the VPC or an endpoint range, `public` when none is.
    public static func route(of addresses: [AddressReport]) -> (EndpointRoute, EndpointPlacement?) {
        guard !addresses.isEmpty else { return (.unresolved, nil) }
        let endpointCount = addresses.filter(\.isEndpoint).count
        if endpointCount == 0 { return (.public, nil) }
        if endpointCount < addresses.count { return (.mixed, nil) }
        return (.vpcEndpoint, addresses.allSatisfy { $0.class == .vpc } ? .local : .shared)
    }

    /// The verdict over the three required names.
    public static func configuration(of reports: [EndpointReport]) -> EndpointConfiguration {
        let required = reports.filter { $0.service != .extra }
        if required.isEmpty { return .unresolved }
        let onEndpoints = required.filter { $0.route == .vpcEndpoint }.count
        if onEndpoints == required.count { return .vpcEndpoints }
        if onEndpoints > 0 { return .partial }
        if required.allSatisfy({ $0.route == .unresolved }) { return .unresolved }
        if required.contains(where: { $0.route == .mixed }) { return .partial }
        return .public
    }
}
