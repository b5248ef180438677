import ECSVPCCore
import Foundation
import Testing

/// Builds agent observations the way the adapters would report them.
struct AgentObservationFixture {
    var container: AgentContainer? = AgentContainer(
        id: "4f1c0ffee", running: true, pid: 4242, startedAt: Date(timeIntervalSince1970: 1_700_000_000),
        image: "amazon/amazon-ecs-agent:latest"
    )
    var containerError: String?
    var version: String? = "Amazon ECS Agent - v1.86.0 (a1b2c3d)"
    var settings = AgentSettings(sources: ["/etc/ecs/ecs.config"])
    var sockets = AgentSockets.remotes([])
    var proxy: String?
    var region = "us-east-1"
    /// The endpoint addresses the ECS names resolve to (none: the fixture's names are not on endpoints).
    var endpointAddresses: Set<IPAddress> = []

    static let classifier = AddressClassifier(
        vpcCIDRs: [CIDR("10.1.0.0/16")!], endpointCIDRs: AddressClassifier.defaultEndpointCIDRs
    )

    func assess() -> AgentAssessment {
        let observation = AgentObservation(
            container: container,
            containerError: containerError,
            metadata: version.map { AgentMetadata(cluster: "default", containerInstanceArn: nil, version: $0) },
            metadataError: nil,
            settings: settings,
            sockets: sockets,
            supervisor: .systemd,
            supervisorDetail: "ecs.service is active"
        )
        return AgentAssessment(
            observation: observation, classifier: Self.classifier, proxy: proxy, region: region,
            endpointAddresses: endpointAddresses
        )
    }

    static func remotes(_ addresses: String...) -> AgentSockets {
        .remotes(addresses.map { IPAddress($0)! })
    }
}

extension AgentAssessment {
    var findingIDs: Set<String> { Set(findings.map(\.id)) }

    func finding(_ id: String) -> Finding? { findings.first { $0.id == id } }
}

@Suite("Agent assessment: connections")
struct AgentAssessmentConnectionTests {
    @Test("connections to public addresses are public")
    func publicConnections() {
        let fixture = AgentObservationFixture(sockets: AgentObservationFixture.remotes("52.94.133.1", "3.5.7.9"))
        let assessment = fixture.assess()
        #expect(assessment.facts.connections == .public)
        #expect(assessment.remoteAddresses == [IPAddress("3.5.7.9")!, IPAddress("52.94.133.1")!])
    }

    @Test("connections to VPC addresses are through the endpoints")
    func vpcConnections() {
        let fixture = AgentObservationFixture(sockets: AgentObservationFixture.remotes("10.1.0.10", "10.1.0.12"))
        #expect(fixture.assess().facts.connections == .vpcEndpoint)
    }

    @Test("connections to a shared endpoint range are through the endpoints")
    func sharedConnections() {
        let fixture = AgentObservationFixture(sockets: AgentObservationFixture.remotes("10.200.0.10", "100.64.3.4"))
        #expect(fixture.assess().facts.connections == .vpcEndpoint)
    }

    @Test("a public connection beside private ones that are not the ECS names' endpoints is public")
    func mixedConnections() {
        // 10.1.0.10: another service's interface endpoint (ECR, say); 52.94.133.1: ECS the old way.
        var fixture = AgentObservationFixture(sockets: AgentObservationFixture.remotes("10.1.0.10", "52.94.133.1"))
        fixture.endpointAddresses = [IPAddress("10.1.0.20")!, IPAddress("10.1.0.21")!, IPAddress("10.1.0.22")!]
        #expect(fixture.assess().facts.connections == .public)
    }

    @Test("a connection to an ECS endpoint is through the endpoints, whatever else is public")
    func endpointConnectionWithOtherPublicServices() {
        // The agent also talks to ECR, S3, Secrets Manager or SSM on 443; without endpoints of their own those stay
        // public. Counting them as "still public" restarted an agent that was already on the ECS endpoints.
        var fixture = AgentObservationFixture(
            sockets: AgentObservationFixture.remotes("10.1.0.21", "52.94.133.1", "3.5.7.9")
        )
        fixture.endpointAddresses = [IPAddress("10.1.0.20")!, IPAddress("10.1.0.21")!, IPAddress("10.1.0.22")!]
        #expect(fixture.assess().facts.connections == .vpcEndpoint)
    }

    @Test("no connections is none")
    func noConnections() {
        let assessment = AgentObservationFixture(sockets: .remotes([])).assess()
        #expect(assessment.facts.connections == .none)
        #expect(assessment.findings.isEmpty)
    }

    @Test("unreadable connections are unknown, with an info finding that says why")
    func unknownConnections() throws {
        let assessment = AgentObservationFixture(sockets: .unknown("permission denied on /proc/4242/fd")).assess()
        #expect(assessment.facts.connections == .unknown)
        #expect(assessment.connectionsDetail == "permission denied on /proc/4242/fd")
        let finding = try #require(assessment.finding("agent-connections-unknown"))
        #expect(finding.severity == .info)
        #expect(finding.message.contains("permission denied"))
    }

    @Test("facts carry the container's running state and start time")
    func factsFromContainer() {
        let assessment = AgentObservationFixture().assess()
        #expect(assessment.facts == AgentFacts(
            exists: true, running: true, startedAt: Date(timeIntervalSince1970: 1_700_000_000),
            connections: .none, viaProxy: false
        ))
    }
}

@Suite("Agent assessment: findings")
struct AgentAssessmentFindingTests {
    @Test(
        "an agent older than 1.25.1 is too old for the endpoints",
        arguments: ["Amazon ECS Agent - v1.25.0 (abcdef0)", "Amazon ECS Agent - v1.9.9 (abcdef0)", "v0.99.100", "1.24.9"]
    )
    func tooOld(_ version: String) throws {
        let assessment = AgentObservationFixture(version: version).assess()
        let finding = try #require(assessment.finding("agent-too-old"))
        #expect(finding.severity == .warning)
    }

    @Test(
        "an agent of 1.25.1 or later is not too old",
        arguments: ["Amazon ECS Agent - v1.25.1 (abcdef0)", "Amazon ECS Agent - v1.26.0 (x)", "v1.86.0", "2.0.0"]
    )
    func recentEnough(_ version: String) {
        #expect(!AgentObservationFixture(version: version).assess().findingIDs.contains("agent-too-old"))
    }

    @Test("an unknown agent version is not reported as too old")
    func unknownVersion() {
        #expect(!AgentObservationFixture(version: nil).assess().findingIDs.contains("agent-too-old"))
        #expect(!AgentObservationFixture(version: "Amazon ECS Agent - dev").assess().findingIDs.contains("agent-too-old"))
    }

    @Test("a proxy that bypasses the endpoints is critical and marks the agent as proxied")
    func proxyIsCritical() throws {
        let assessment = AgentObservationFixture(proxy: "http://proxy.corp:3128").assess()
        let finding = try #require(assessment.finding("proxy-bypasses-endpoints"))
        #expect(finding.severity == .critical)
        #expect(finding.message.contains("http://proxy.corp:3128"))
        #expect(assessment.facts.viaProxy)
        #expect(!AgentObservationFixture().assess().facts.viaProxy)
    }

    @Test(
        "ECS_BACKEND_HOST in another region is reported",
        arguments: ["https://ecs.eu-west-1.amazonaws.com", "ecs.us-west-2.amazonaws.com", "https://ecs.us-east-2.amazonaws.com/"]
    )
    func backendHostElsewhere(_ backend: String) throws {
        let fixture = AgentObservationFixture(settings: AgentSettings(backendHost: backend))
        let finding = try #require(fixture.assess().finding("backend-host-elsewhere"))
        #expect(finding.severity == .warning)
        #expect(finding.message.contains(backend))
    }

    @Test(
        "ECS_BACKEND_HOST in this region, or empty, is not reported",
        arguments: ["https://ecs.us-east-1.amazonaws.com", "ecs-fips.us-east-1.amazonaws.com", "https://ecs.us-east-1.api.aws", ""]
    )
    func backendHostHere(_ backend: String) {
        let fixture = AgentObservationFixture(settings: AgentSettings(backendHost: backend))
        #expect(!fixture.assess().findingIDs.contains("backend-host-elsewhere"))
    }

    @Test(
        "ECS_BACKEND_HOST in this region with an http scheme or capital letters is not reported",
        arguments: ["http://ecs.us-east-1.amazonaws.com", "https://ECS.US-EAST-1.AMAZONAWS.COM", "HTTPS://ecs.us-east-1.amazonaws.com"]
    )
    func backendHostHereOtherSpelling(_ backend: String) {
        let fixture = AgentObservationFixture(settings: AgentSettings(backendHost: backend))
        #expect(!fixture.assess().findingIDs.contains("backend-host-elsewhere"))
    }

    @Test("a missing agent container is reported and the agent does not exist")
    func agentAbsent() throws {
        let assessment = AgentObservationFixture(container: nil, sockets: .unknown("no agent process")).assess()
        let finding = try #require(assessment.finding("agent-absent"))
        #expect(finding.severity == .warning)
        #expect(!assessment.facts.exists)
        #expect(!assessment.facts.running)
        // No process, so nothing to say about its connections.
        #expect(!assessment.findingIDs.contains("agent-connections-unknown"))
    }

    @Test("an agent container that is not running is critical")
    func agentNotRunning() throws {
        let stopped = AgentContainer(id: "4f1c0ffee", running: false, pid: 0, startedAt: nil, image: "amazon/amazon-ecs-agent")
        let assessment = AgentObservationFixture(container: stopped).assess()
        let finding = try #require(assessment.finding("agent-not-running"))
        #expect(finding.severity == .critical)
        #expect(assessment.facts.exists)
        #expect(!assessment.facts.running)
    }

    @Test("an unreachable Docker Engine is reported as such, not as a missing agent")
    func dockerUnavailable() throws {
        let assessment = AgentObservationFixture(
            container: nil, containerError: "connect /var/run/docker.sock: no such file"
        ).assess()
        let finding = try #require(assessment.finding("docker-unavailable"))
        #expect(finding.severity == .warning)
        #expect(finding.message.contains("no such file"))
        #expect(!assessment.findingIDs.contains("agent-absent"))
        #expect(!assessment.facts.running)
    }

    @Test("a healthy, recent agent on the endpoints has no findings")
    func healthyAgent() {
        let fixture = AgentObservationFixture(sockets: AgentObservationFixture.remotes("10.1.0.10"))
        #expect(fixture.assess().findings.isEmpty)
    }
}
