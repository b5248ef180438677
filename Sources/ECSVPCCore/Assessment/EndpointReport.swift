/// One address of a name, classified and probed.
public struct AddressReport: Hashable, Sendable, Codable {
    public var address: IPAddress
    public var `class`: AddressClass
    public var ttl: UInt32
    /// `open`, `refused`, `timeout`, `unreachable`, or nil when not probed.
    public var tcp: String?
    public var connectMilliseconds: Double?
    /// Why the address is unreachable, and for a DNS64 address the IPv4 address it stands for.
    public var detail: String?

    public init(address: IPAddress, class: AddressClass, ttl: UInt32, probe: ProbeOutcome?) {
        self.address = address
        self.class = `class`
        self.ttl = ttl
        self.tcp = probe?.code
        switch probe {
        case .open(let ms): connectMilliseconds = ms
        default: connectMilliseconds = nil
        }
        var notes: [String] = []
        if let v4 = address.dns64IPv4 { notes.append("synthesized by DNS64 from \(v4)") }
        if case .unreachable(let why) = probe { notes.append(why) }
        detail = notes.isEmpty ? nil : notes.joined(separator: "; ")
    }

    public var isEndpoint: Bool { self.class != .public }
}

/// How a name resolved, for the status document.
public struct ResolutionReport: Hashable, Sendable, Codable {
    /// `ok`, `nodata`, `nxdomain`, `servfail`, `timeout`, `error`, `rcode-N`.
    public var outcome: String
    public var source: String
    public var cnames: [String]
    public var retriedOverTCP: Bool
    public var error: String?

    public init(_ resolution: NameResolution) {
        outcome = resolution.outcome.code
        source = resolution.source.description
        cnames = resolution.cnameChain
        retriedOverTCP = resolution.retriedOverTCP
        if case .error(let text) = resolution.outcome { error = text } else { error = nil }
    }
}

/// One watched name: its route, how it resolved, and each address with its class and TCP result.
public struct EndpointReport: Hashable, Sendable, Codable {
    public var service: ECSService
    public var name: String
    public var route: EndpointRoute
    /// For `vpc-endpoint`: `local` when every address is in the VPC, else `shared`.
    public var placement: EndpointPlacement?
    public var resolution: ResolutionReport
    public var addresses: [AddressReport]
    /// The route the Amazon-provided resolver gives, when it was asked.
    public var amazonDNSRoute: EndpointRoute?

    public init(
        service: ECSService,
        name: String,
        route: EndpointRoute,
        placement: EndpointPlacement?,
        resolution: ResolutionReport,
        addresses: [AddressReport],
        amazonDNSRoute: EndpointRoute?
    ) {
        self.service = service
        self.name = name
        self.route = route
        self.placement = placement
        self.resolution = resolution
        self.addresses = addresses
        self.amazonDNSRoute = amazonDNSRoute
    }

    /// The short host label (`ecs-a`, `ecs-t`, `ecs`) or the full name for extra names.
    public var shortName: String { service.hostLabel ?? name }

    /// Every endpoint address accepted TCP on the probe port (and there is at least one), not counting the
    /// IPv6 addresses this host has no route to while another endpoint address is open.
    public var allEndpointAddressesOpen: Bool {
        addresses.contains { $0.isEndpoint } && failingEndpointAddresses.isEmpty
    }

    /// IPv6 endpoint addresses this host cannot reach at all (probe `unreachable`: no IPv6 route or address here)
    /// while another endpoint address of the name is open: a dual-stack endpoint seen from an IPv4-only host. The
    /// agent's dialer moves on to the open address at once, so these do not count against the endpoint.
    public var unroutedIPv6Addresses: [AddressReport] {
        guard addresses.contains(where: { $0.isEndpoint && $0.tcp == "open" }) else { return [] }
        return addresses.filter { $0.isEndpoint && $0.address.isIPv6 && $0.tcp == "unreachable" }
    }

    /// Endpoint addresses that were probed and did not accept TCP on the probe port, other than
    /// `unroutedIPv6Addresses`.
    public var failingEndpointAddresses: [AddressReport] {
        let unrouted = unroutedIPv6Addresses
        return addresses.filter { $0.isEndpoint && $0.tcp != "open" && !unrouted.contains($0) }
    }
}
