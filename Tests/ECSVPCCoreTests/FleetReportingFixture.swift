import ECSVPCCore
import Foundation

/// A daemon's status document in a known state, for the inventory item and the metrics: two endpoint names (one
/// address refusing 443), the agent on public addresses with public cell hosts, a restart pending, two findings.
enum FleetReportingFixture {
    static let updatedAt = Date(timeIntervalSince1970: 1_750_000_000)

    static func endpoint(_ service: ECSService, _ name: String, _ route: EndpointRoute, _ addresses: [(String, ProbeOutcome?)]) -> EndpointReport {
        EndpointReport(
            service: service, name: name, route: route, placement: route == .vpcEndpoint ? .local : nil,
            resolution: ResolutionReport(NameResolution(name: name, outcome: .answered)),
            addresses: addresses.map { address, probe in
                let ip = IPAddress(address)!
                return AddressReport(address: ip, class: address.hasPrefix("10.") ? .vpc : .public, ttl: 60, probe: probe)
            },
            amazonDNSRoute: nil
        )
    }

    static func document(
        connections: String = "public", history: [StatusDocument.RestartRecord] = [], findings: [Finding]? = nil
    ) -> StatusDocument {
        var agent = StatusDocument.Agent(
            running: true, started: updatedAt.addingTimeInterval(-86400), version: "Amazon ECS Agent - v1.105.1 (a8b3e7d3)",
            cluster: "prod", connections: connections, connectionsDetail: nil, remoteAddresses: [], supervisor: "systemd",
            supervisorDetail: nil, proxy: nil
        )
        agent.cells = [
            AgentCellReport(service: .ecsAgent, host: "ecs-a-4.us-east-1.amazonaws.com", addresses: [], route: .public, source: "log", plannedRedial: nil),
            AgentCellReport(service: .ecsTelemetry, host: "ecs-t-4.us-east-1.amazonaws.com", addresses: [], route: .public, source: "log", plannedRedial: nil),
        ]
        agent.ownMove = AgentOwnMove(expectedBy: updatedAt.addingTimeInterval(3600), because: .cacheExpiry)
        return StatusDocument(
            source: "daemon", health: .critical,
            summary: "CRITICAL endpoint-not-accepting; CRITICAL ecs-t in VPC but 443 refused; agent via public endpoints; restart blocked",
            instance: .init(id: "i-0123456789abcdef0", region: "us-east-1", dnsSuffix: "amazonaws.com", vpcCIDRs: [CIDR("10.0.0.0/16")!], endpointCIDRs: []),
            endpoints: [
                endpoint(.ecsAgent, "ecs-a.us-east-1.amazonaws.com", .vpcEndpoint, [("10.0.1.11", .open(milliseconds: 0.4)), ("10.0.2.11", .open(milliseconds: 0.5))]),
                endpoint(.ecsTelemetry, "ecs-t.us-east-1.amazonaws.com", .vpcEndpoint, [("10.0.1.12", .refused)]),
                endpoint(.ecs, "ecs.us-east-1.amazonaws.com", .public, [("54.239.1.2", .open(milliseconds: 3)), ("54.239.1.3", nil)]),
            ],
            configuration: .partial,
            agent: agent,
            restart: .init(state: "blocked", reason: "an endpoint address refuses 443", notBefore: nil, budgetLeft: 2, history: history),
            findings: findings ?? [
                Finding(id: "endpoint-not-accepting", severity: .critical, message: "ecs-t: 10.0.1.12 refuses 443", hint: "security group"),
                Finding(id: "partial-configuration", severity: .warning, message: "ecs is public", hint: "create the ecs endpoint"),
            ],
            updatedAt: updatedAt
        )
    }

    static func record(_ seconds: TimeInterval, _ via: String, _ result: String) -> StatusDocument.RestartRecord {
        StatusDocument.RestartRecord(at: updatedAt.addingTimeInterval(seconds), via: via, result: result, reason: "test", detail: nil)
    }
}
