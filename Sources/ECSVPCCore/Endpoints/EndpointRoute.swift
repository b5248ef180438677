/// How one name routes: through an interface endpoint, to public addresses, both, or not at all.
public enum EndpointRoute: String, Sendable, Codable {
    case vpcEndpoint = "vpc-endpoint"
    case `public`
    case mixed
    case unresolved
}

/// For a `vpc-endpoint` route: is the endpoint in this VPC, or shared from another network?
public enum EndpointPlacement: String, Sendable, Codable {
    case local
    case shared
}

/// The verdict over the three ECS names.
public enum EndpointConfiguration: String, Sendable, Codable {
    /// All three names resolve to endpoint addresses.
    case vpcEndpoints = "vpc-endpoints"
    /// Some, not all, do.
    case partial
    case `public`
    case unresolved
}
