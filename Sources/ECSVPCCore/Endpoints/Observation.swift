import FoundationEssentials

/// One address from a DNS answer or the hosts file, with its TTL (0 for the hosts file).
public struct ResolvedAddress: Hashable, Sendable, Codable {
    public let address: IPAddress
    public let ttl: UInt32

    public init(address: IPAddress, ttl: UInt32) {
        self.address = address
        self.ttl = ttl
    }
}

/// How a lookup ended. NXDOMAIN, SERVFAIL and timeouts are told apart because they call for different fixes.
public enum ResolutionOutcome: Hashable, Sendable, Codable {
    /// At least one address.
    case answered
    /// The name exists but has no A or AAAA record.
    case noData
    case nxdomain
    case servfail
    /// Another error rcode (REFUSED, FORMERR, …), by number.
    case rcode(Int)
    /// No nameserver answered within `timeout × attempts`.
    case timeout
    /// The lookup could not be made or the answer could not be read; the text says why.
    case error(String)

    /// The short code used in the status document.
    public var code: String {
        switch self {
        case .answered: "ok"
        case .noData: "nodata"
        case .nxdomain: "nxdomain"
        case .servfail: "servfail"
        case .rcode(let n): "rcode-\(n)"
        case .timeout: "timeout"
        case .error: "error"
        }
    }
}

/// Where an answer came from.
public enum ResolutionSource: Hashable, Sendable, Codable, CustomStringConvertible {
    case hostsFile(path: String)
    case nameserver(String)
    case none

    public var description: String {
        switch self {
        case .hostsFile(let path): path
        case .nameserver(let server): server
        case .none: "none"
        }
    }
}

/// The result of resolving one name (A and AAAA together), as the agent's resolver would see it.
public struct NameResolution: Hashable, Sendable, Codable {
    public var name: String
    public var outcome: ResolutionOutcome
    public var addresses: [ResolvedAddress]
    /// CNAME targets followed from `name`, in order.
    public var cnameChain: [String]
    public var source: ResolutionSource
    /// True when a truncated UDP answer was retried over TCP.
    public var retriedOverTCP: Bool

    public init(
        name: String,
        outcome: ResolutionOutcome,
        addresses: [ResolvedAddress] = [],
        cnameChain: [String] = [],
        source: ResolutionSource = .none,
        retriedOverTCP: Bool = false
    ) {
        self.name = name
        self.outcome = outcome
        self.addresses = addresses
        self.cnameChain = cnameChain
        self.source = source
        self.retriedOverTCP = retriedOverTCP
    }
}

/// The result of one TCP connect to an address on the probe port.
public enum ProbeOutcome: Hashable, Sendable {
    case open(milliseconds: Double)
    case refused
    case timeout
    case unreachable(String)

    public var code: String {
        switch self {
        case .open: "open"
        case .refused: "refused"
        case .timeout: "timeout"
        case .unreachable: "unreachable"
        }
    }

    public var isOpen: Bool {
        if case .open = self { return true }
        return false
    }
}

/// What instance metadata (or the configuration overriding it) says about this instance.
public struct InstanceContext: Hashable, Sendable, Codable {
    public var instanceID: String?
    public var region: String
    public var dnsSuffix: String
    public var mac: String?
    public var vpcCIDRs: [CIDR]

    public init(instanceID: String?, region: String, dnsSuffix: String, mac: String?, vpcCIDRs: [CIDR]) {
        self.instanceID = instanceID
        self.region = region
        self.dnsSuffix = dnsSuffix
        self.mac = mac
        self.vpcCIDRs = vpcCIDRs
    }
}

/// Everything learned about one watched name in one observation.
public struct EndpointObservation: Sendable {
    public var watched: WatchedName
    public var resolution: NameResolution
    /// The Amazon-provided resolver's answer for the same name, when `ECSVPCD_AMAZON_DNS` is not `off`.
    public var amazonResolution: NameResolution?
    public var probes: [IPAddress: ProbeOutcome]

    public init(
        watched: WatchedName,
        resolution: NameResolution,
        amazonResolution: NameResolution?,
        probes: [IPAddress: ProbeOutcome]
    ) {
        self.watched = watched
        self.resolution = resolution
        self.amazonResolution = amazonResolution
        self.probes = probes
    }
}
