/// The findings an observation of the names gives, each with what to do about it.
public enum EndpointFindings {
    static func findings(
        reports: [EndpointReport],
        observations: [EndpointObservation],
        configuration: EndpointConfiguration,
        probePort: Int
    ) -> [Finding] {
        var findings: [Finding] = []
        for report in reports where report.service != .extra {
            findings += unresolved(report)
            findings += notAccepting(report, probePort: probePort)
            if report.route == .mixed {
                findings.append(
                    Finding(
                        id: "mixed-answers",
                        severity: .warning,
                        message: "\(report.name) resolves to both endpoint and public addresses: "
                            + report.addresses.map { "\($0.address) (\($0.class.rawValue))" }.joined(separator: ", "),
                        hint: "Look for a second DNS source (a hosts entry, another resolver, a private hosted zone "
                            + "being changed); the agent may pick either address."
                    )
                )
            }
            if report.resolution.source.hasPrefix("/"), report.route != .unresolved {
                findings.append(
                    Finding(
                        id: "hosts-file-override",
                        severity: .info,
                        message: "\(report.name) is pinned in \(report.resolution.source), not resolved through DNS",
                        hint: "Remove the entry from the hosts file unless it is meant to pin the endpoint."
                    )
                )
            }
            if report.amazonDNSRoute == .vpcEndpoint, report.route != .vpcEndpoint {
                findings.append(
                    Finding(
                        id: "custom-dns-bypass",
                        severity: .warning,
                        message: "The Amazon-provided resolver answers \(report.name) with endpoint addresses, "
                            + "but this instance's resolvers (\(report.resolution.source)) answer \(report.route.rawValue)",
                        hint: "Custom DNS bypasses the endpoints: forward \(report.name) (or the whole "
                            + "amazonaws.com zone) to the Amazon-provided resolver (169.254.169.253 or VPC base+2), "
                            + "for example with a Route 53 Resolver rule or a conditional forwarder."
                    )
                )
            }
        }
        if configuration == .partial {
            findings.append(partial(reports))
        }
        return findings
    }

    private static func unresolved(_ report: EndpointReport) -> [Finding] {
        guard report.route == .unresolved else { return [] }
        let why: String
        let hint: String
        switch report.resolution.outcome {
        case "nxdomain":
            why = "does not exist (NXDOMAIN)"
            hint = "Check the region and DNS suffix (ECSVPCD_REGION, ECSVPCD_DNS_SUFFIX) and any private "
                + "hosted zone that overrides \(report.name)."
        case "servfail":
            why = "fails on the resolver (SERVFAIL)"
            hint = "The resolver could not answer; check its upstream (Amazon-provided DNS or forwarders)."
        case "timeout":
            why = "gets no answer: no nameserver replied"
            hint = "Check that the nameservers in resolv.conf (or ECSVPCD_DNS_SERVERS) are up and reachable."
        case "nodata":
            why = "has no A or AAAA record"
            hint = "Check the private hosted zone or endpoint DNS records for \(report.name)."
        default:
            why = "could not be resolved (\(report.resolution.error ?? report.resolution.outcome))"
            hint = "Check the resolver configuration (resolv.conf, ECSVPCD_DNS_SERVERS)."
        }
        return [Finding(id: "name-unresolved", severity: .critical, message: "\(report.name) \(why)", hint: hint)]
    }

    private static func notAccepting(_ report: EndpointReport, probePort: Int) -> [Finding] {
        var findings: [Finding] = []
        let unrouted = report.unroutedIPv6Addresses
        for address in report.addresses {
            guard let tcp = address.tcp, tcp != "open" else { continue }
            if unrouted.contains(address) {
                let open = report.addresses.filter { $0.isEndpoint && $0.tcp == "open" }.map(\.address.description)
                findings.append(
                    Finding(
                        id: "endpoint-ipv6-no-route",
                        severity: .info,
                        message: "\(report.name): no IPv6 route on this host to \(address.address)"
                            + (address.detail.map { " (\($0))" } ?? "") + "; the agent uses "
                            + open.joined(separator: ", "),
                        hint: "Nothing to do unless this instance should have IPv6: the endpoint is dual-stack, and "
                            + "the agent, finding no route to the IPv6 address, connects to the open one. Once the "
                            + "instance has an IPv6 route, that address must accept TCP \(probePort) like the others."
                    )
                )
            } else if address.isEndpoint {
                let hint: String
                switch tcp {
                case "timeout":
                    hint = "The endpoint's security group probably does not allow inbound TCP \(probePort) from "
                        + "this instance's subnet: add an inbound rule for TCP \(probePort) from the instances' "
                        + "subnets (or their security group). Check network ACLs and, for a shared endpoint, the "
                        + "Transit Gateway or peering routes."
                case "refused":
                    hint = "Something answered but refused TCP \(probePort): check that this address really is "
                        + "the interface endpoint and that it is in the Available state."
                default:
                    hint = "No route to the endpoint: check the subnet's route table and, for a shared endpoint, "
                        + "the Transit Gateway or peering attachment."
                }
                findings.append(
                    Finding(
                        id: "endpoint-not-accepting",
                        severity: .critical,
                        message: "\(report.name) resolves to \(address.address) (\(address.class.rawValue)) "
                            + "but TCP \(probePort) \(describe(tcp))",
                        hint: hint
                    )
                )
            } else {
                findings.append(
                    Finding(
                        id: "public-endpoint-unreachable",
                        severity: .warning,
                        message: "\(report.name) resolves to public \(address.address) but TCP \(probePort) "
                            + describe(tcp),
                        hint: "Without endpoints the agent needs a route to the public ECS endpoints (NAT gateway, "
                            + "internet gateway or proxy). Create the ECS interface VPC endpoints or fix the route."
                    )
                )
            }
        }
        return findings
    }

    /// Lists as missing only the names that look like they have no endpoint (public, NXDOMAIN, no data): a name
    /// that could not be resolved, or resolves mixed, may well have one, and needs another fix.
    private static func partial(_ reports: [EndpointReport]) -> Finding {
        let required = reports.filter { $0.service != .extra }
        let present = required.filter { $0.route == .vpcEndpoint }.map(\.service.rawValue)
        var missing: [String] = []
        var unresolved: [String] = []
        var mixed: [String] = []
        for report in required {
            switch report.route {
            case .vpcEndpoint:
                continue
            case .public:
                missing.append(report.service.rawValue)
            case .mixed:
                mixed.append(report.service.rawValue)
            case .unresolved:
                if ["nxdomain", "nodata"].contains(report.resolution.outcome) {
                    missing.append(report.service.rawValue)
                } else {
                    unresolved.append("\(report.service.rawValue) (\(report.resolution.outcome.uppercased()))")
                }
            }
        }
        var message = "Only \(present.count) of \(required.count) ECS endpoints are in effect"
            + (present.isEmpty ? "" : " (\(present.joined(separator: ", ")))")
        var hints: [String] = []
        if !missing.isEmpty {
            message += "; missing: \(missing.joined(separator: ", "))"
            hints.append(
                "Create the missing interface endpoints (com.amazonaws.REGION.<service>) with private DNS on, in "
                    + "the documented order ecs-agent, ecs-telemetry, ecs.")
        }
        if !unresolved.isEmpty {
            message += "; could not be resolved: \(unresolved.joined(separator: ", "))"
            hints.append(
                "A name that could not be resolved may well have its endpoint: fix name resolution first "
                    + "(see name-unresolved), then look again.")
        }
        if !mixed.isEmpty {
            message += "; mixed: \(mixed.joined(separator: ", "))"
            hints.append(
                "A mixed name has an endpoint but also answers public addresses: find the second DNS source "
                    + "(see mixed-answers).")
        }
        hints.append("The agent is not restarted until all three are in effect.")
        return Finding(
            id: "partial-configuration",
            severity: .warning,
            message: message,
            hint: hints.joined(separator: " ")
        )
    }

    static func describe(_ tcp: String) -> String {
        switch tcp {
        case "timeout": "times out"
        case "refused": "is refused"
        case "unreachable": "is unreachable"
        default: tcp
        }
    }
}
