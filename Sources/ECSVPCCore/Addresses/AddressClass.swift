/// Where an address answered: inside this instance's VPC, in a range where shared endpoints answer, or public.
public enum AddressClass: String, Sendable, Codable {
    /// Inside the instance's own VPC CIDR blocks: a local interface endpoint.
    case vpc
    /// Inside `ECSVPCD_ENDPOINT_CIDRS` but outside the VPC: an endpoint shared from a hub VPC.
    case shared
    case `public`
}

/// Classifies addresses against the VPC CIDRs and the endpoint ranges.
public struct AddressClassifier: Sendable {
    public let vpcCIDRs: [CIDR]
    public let endpointCIDRs: [CIDR]

    public static let defaultEndpointCIDRs: [CIDR] = [
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7",
    ].compactMap { CIDR($0) }

    public init(vpcCIDRs: [CIDR], endpointCIDRs: [CIDR]) {
        self.vpcCIDRs = vpcCIDRs
        self.endpointCIDRs = endpointCIDRs
    }

    /// A DNS64 address (`64:ff9b::/96`) is classed by the IPv4 address it stands for.
    public func classify(_ address: IPAddress) -> AddressClass {
        let address = address.dns64IPv4 ?? address
        if vpcCIDRs.contains(where: { $0.contains(address) }) { return .vpc }
        if endpointCIDRs.contains(where: { $0.contains(address) }) { return .shared }
        return .public
    }
}
