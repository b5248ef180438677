/// The one line a person reads at a glance: sd_notify `STATUS=`, the status document's `summary`.
public enum StatusLine {
    /// The endpoints part, e.g. `vpc-endpoints 3/3 in VPC, 443 open` or `CRITICAL ecs-a in VPC but 443 times out
    /// (security group?)`.
    public static func endpoints(_ assessment: EndpointAssessment, probePort: Int) -> String {
        let required = assessment.required
        let onEndpoints = required.filter { $0.route == .vpcEndpoint }
        if let critical = criticalPart(assessment, probePort: probePort) { return critical }
        switch assessment.configuration {
        case .vpcEndpoints:
            let local = onEndpoints.filter { $0.placement == .local }.count
            let shared = onEndpoints.count - local
            let placement =
                shared == 0 ? "in VPC" : local == 0 ? "shared" : "\(local) in VPC, \(shared) shared"
            return "vpc-endpoints \(onEndpoints.count)/\(required.count) \(placement), \(probePort) open"
        case .partial:
            let missing = required.filter { $0.route != .vpcEndpoint }.map(\.service.rawValue)
            return "partial \(onEndpoints.count)/\(required.count) on endpoints; missing \(missing.joined(separator: ", "))"
        case .public:
            return "public \(onEndpoints.count)/\(required.count) on endpoints"
        case .unresolved:
            let codes = required.map { "\($0.shortName) \($0.resolution.outcome.uppercased())" }
            return "unresolved: " + codes.joined(separator: ", ")
        }
    }

    private static func criticalPart(_ assessment: EndpointAssessment, probePort: Int) -> String? {
        for report in assessment.required {
            if report.route == .unresolved, assessment.configuration != .unresolved {
                return "CRITICAL \(report.shortName) unresolved (\(report.resolution.outcome.uppercased()))"
            }
            // Probed and failing; an IPv6 address this host has no route to, beside an open one, does not count.
            if let bad = report.failingEndpointAddresses.first(where: { $0.tcp != nil }) {
                let place = bad.class == .vpc ? "in VPC" : "shared"
                let hint = bad.tcp == "timeout" ? " (security group?)" : ""
                return "CRITICAL \(report.shortName) \(place) but \(probePort) "
                    + EndpointFindings.describe(bad.tcp ?? "") + hint
            }
        }
        return nil
    }
}
