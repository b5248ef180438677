import ECSVPCCore
import Testing

private func ip(_ text: String) -> IPAddress {
    guard let address = IPAddress(text) else { fatalError("bad test address \(text)") }
    return address
}

/// A fabricated instance: VPC 10.1.0.0/16, the default endpoint ranges (so 10.200.x.x is a shared endpoint).
private let classifier = AddressClassifier(
    vpcCIDRs: [CIDR("10.1.0.0/16")!, CIDR("2600:1f18:abcd::/56")!],
    endpointCIDRs: AddressClassifier.defaultEndpointCIDRs
)
private let names = EndpointNames.watched(region: "us-east-1", dnsSuffix: "amazonaws.com")

/// What one name did in a fabricated observation.
private struct Fake {
    var outcome: ResolutionOutcome = .answered
    var addresses: [String] = []
    var tcp: [String: ProbeOutcome] = [:]
    var source: ResolutionSource = .nameserver("10.1.0.2:53")
    var amazon: [String]?

    static func answer(_ addresses: String..., tcp: [String: ProbeOutcome] = [:]) -> Fake {
        Fake(addresses: addresses, tcp: tcp)
    }

    static func failed(_ outcome: ResolutionOutcome) -> Fake { Fake(outcome: outcome) }

    func observation(_ watched: WatchedName) -> EndpointObservation {
        let resolved = addresses.map { ResolvedAddress(address: ip($0), ttl: 60) }
        var probes: [IPAddress: ProbeOutcome] = [:]
        for address in addresses { probes[ip(address)] = tcp[address] ?? .open(milliseconds: 0.4) }
        return EndpointObservation(
            watched: watched,
            resolution: NameResolution(name: watched.name, outcome: outcome, addresses: resolved, source: source),
            amazonResolution: amazon.map { list in
                NameResolution(
                    name: watched.name, outcome: .answered,
                    addresses: list.map { ResolvedAddress(address: ip($0), ttl: 60) },
                    source: .nameserver("169.254.169.253:53"))
            },
            probes: probes
        )
    }
}

/// Assesses the three required names (ecs-a, ecs-t, ecs) given as `fakes`, plus any extra names.
private func assess(_ fakes: [Fake], extra: [(WatchedName, Fake)] = []) -> EndpointAssessment {
    precondition(fakes.count == 3)
    let observations = zip(names, fakes).map { $1.observation($0) } + extra.map { $1.observation($0) }
    return EndpointAssessment(observations: observations, classifier: classifier, probePort: 443)
}

private func summary(_ assessment: EndpointAssessment) -> String {
    StatusLine.endpoints(assessment, probePort: 443)
}

private let allPublic = [Fake.answer("52.94.1.1"), .answer("52.94.1.2", "52.94.1.3"), .answer("52.94.1.4")]
private let allVPC = [Fake.answer("10.1.4.10", "10.1.5.10"), .answer("10.1.4.11"), .answer("10.1.4.12", "2600:1f18:abcd:1::12")]

@Suite("Endpoint assessment")
struct EndpointAssessmentTests {
    @Test("names resolving only to public addresses: public, healthy, no findings")
    func allPublicIsOK() {
        let assessment = assess(allPublic)
        #expect(assessment.endpoints.map(\.route) == [.public, .public, .public])
        #expect(assessment.endpoints.allSatisfy { $0.placement == nil })
        #expect(assessment.endpoints.flatMap(\.addresses).allSatisfy { $0.class == .public && $0.tcp == "open" })
        #expect(assessment.configuration == .public)
        #expect(assessment.health == .ok)
        #expect(assessment.findings.isEmpty)
        #expect(!assessment.endpointsAcceptConnections)
        #expect(summary(assessment) == "public 0/3 on endpoints")
    }

    @Test("names resolving inside the VPC (IPv4 and IPv6): vpc-endpoints, local, accepting connections")
    func allInVPC() {
        let assessment = assess(allVPC)
        #expect(assessment.endpoints.map(\.service) == [.ecsAgent, .ecsTelemetry, .ecs])
        #expect(assessment.endpoints.map(\.shortName) == ["ecs-a", "ecs-t", "ecs"])
        #expect(assessment.endpoints.map(\.route) == [.vpcEndpoint, .vpcEndpoint, .vpcEndpoint])
        #expect(assessment.endpoints.map(\.placement) == [.local, .local, .local])
        #expect(assessment.endpoints.flatMap(\.addresses).allSatisfy { $0.class == .vpc })
        #expect(assessment.configuration == .vpcEndpoints)
        #expect(assessment.health == .ok)
        #expect(assessment.findings.isEmpty)
        #expect(assessment.endpointsAcceptConnections)
        #expect(summary(assessment) == "vpc-endpoints 3/3 in VPC, 443 open")
    }

    @Test("endpoint addresses outside the VPC but inside ENDPOINT_CIDRS are a shared endpoint")
    func sharedEndpoints() {
        let assessment = assess([.answer("10.200.0.5"), .answer("10.200.0.6"), .answer("172.20.0.7")])
        #expect(assessment.endpoints.map(\.placement) == [.shared, .shared, .shared])
        #expect(assessment.endpoints.flatMap(\.addresses).allSatisfy { $0.class == .shared })
        #expect(assessment.configuration == .vpcEndpoints)
        #expect(assessment.health == .ok)
        #expect(summary(assessment) == "vpc-endpoints 3/3 shared, 443 open")

        let oneShared = assess([allVPC[0], allVPC[1], .answer("192.168.7.7")])
        #expect(oneShared.endpoints.map(\.placement) == [.local, .local, .shared])
        #expect(summary(oneShared) == "vpc-endpoints 3/3 2 in VPC, 1 shared, 443 open")
    }

    @Test("one of the three endpoints missing: partial, naming the missing service and the creation order",
          arguments: [0, 1, 2])
    func oneMissing(_ missingIndex: Int) throws {
        var fakes = allVPC
        fakes[missingIndex] = allPublic[missingIndex]
        let assessment = assess(fakes)
        let missing = ECSService.required[missingIndex].rawValue
        #expect(assessment.configuration == .partial)
        #expect(assessment.health == .warning)
        #expect(!assessment.endpointsAcceptConnections)
        let finding = try #require(assessment.findings.first { $0.id == "partial-configuration" })
        #expect(finding.severity == .warning)
        #expect(finding.message.hasPrefix("Only 2 of 3 ECS endpoints are in effect"))
        #expect(finding.message.hasSuffix("missing: \(missing)"))
        #expect(finding.hint.contains("in the documented order ecs-agent, ecs-telemetry, ecs"))
        #expect(assessment.findings.count == 1)
        #expect(summary(assessment) == "partial 2/3 on endpoints; missing \(missing)")
    }

    @Test("partial: only public, NXDOMAIN and no-data names are missing; unresolved and mixed names are told as such",
          arguments: [
            (Fake.failed(.nxdomain), "; missing: ecs", "Create the missing"),
            (.failed(.noData), "; missing: ecs", "Create the missing"),
            (.failed(.servfail), "; could not be resolved: ecs (SERVFAIL)", "fix name resolution first"),
            (.failed(.timeout), "; could not be resolved: ecs (TIMEOUT)", "fix name resolution first"),
            (.failed(.rcode(5)), "; could not be resolved: ecs (RCODE-5)", "fix name resolution first"),
            (.answer("10.1.4.12", "52.94.1.4"), "; mixed: ecs", "second DNS source"),
          ])
    fileprivate func partialTellsWhyANameIsNotOnAnEndpoint(_ fake: Fake, _ suffix: String, _ hintWords: String) throws {
        let assessment = assess([allVPC[0], allVPC[1], fake])
        #expect(assessment.configuration == .partial)
        let finding = try #require(assessment.findings.first { $0.id == "partial-configuration" })
        #expect(finding.message == "Only 2 of 3 ECS endpoints are in effect (ecs-agent, ecs-telemetry)" + suffix)
        #expect(finding.hint.contains(hintWords))
        #expect(finding.hint.contains("Create the missing") == (hintWords == "Create the missing"))
        #expect(finding.hint.hasSuffix("The agent is not restarted until all three are in effect."))
    }

    @Test("partial with a public, an unresolved and an endpoint name lists each in its place, with both hints")
    func partialWithEveryKind() throws {
        let assessment = assess([allVPC[0], allPublic[1], .failed(.servfail)])
        let finding = try #require(assessment.findings.first { $0.id == "partial-configuration" })
        #expect(finding.message == "Only 1 of 3 ECS endpoints are in effect (ecs-agent); missing: ecs-telemetry; "
            + "could not be resolved: ecs (SERVFAIL)")
        #expect(finding.hint.contains("Create the missing interface endpoints"))
        #expect(finding.hint.contains("fix name resolution first"))
    }

    @Test("a name answering endpoint and public addresses at once is mixed, with a finding")
    func mixedAnswers() throws {
        let assessment = assess([allVPC[0], allVPC[1], .answer("10.1.4.12", "52.94.1.4")])
        #expect(assessment.endpoints[2].route == .mixed)
        #expect(assessment.endpoints[2].placement == nil)
        #expect(assessment.configuration == .partial)
        let finding = try #require(assessment.findings.first { $0.id == "mixed-answers" })
        #expect(finding.severity == .warning)
        #expect(finding.message.contains("ecs.us-east-1.amazonaws.com"))
        #expect(finding.message.contains("10.1.4.12 (vpc), 52.94.1.4 (public)"))
        #expect(finding.hint.contains("second DNS source"))
        #expect(assessment.health == .warning)

        let mixedAmongPublic = assess([allPublic[0], .answer("52.94.1.2", "10.200.0.1"), allPublic[2]])
        #expect(mixedAmongPublic.configuration == .partial)
    }

    @Test("NXDOMAIN, SERVFAIL and a timeout are told apart, each with its own message and hint")
    func unresolvedOutcomes() throws {
        var messages: [String] = []
        var hints: [String] = []
        for (outcome, code, words, hintWords) in [
            (ResolutionOutcome.nxdomain, "NXDOMAIN", "does not exist (NXDOMAIN)", "ECSVPCD_REGION"),
            (.servfail, "SERVFAIL", "fails on the resolver (SERVFAIL)", "upstream"),
            (.timeout, "TIMEOUT", "gets no answer: no nameserver replied", "are up and reachable"),
        ] {
            let assessment = assess([allVPC[0], allVPC[1], .failed(outcome)])
            #expect(assessment.endpoints[2].route == .unresolved)
            #expect(assessment.configuration == .partial)
            #expect(assessment.health == .critical)
            let finding = try #require(assessment.findings.first { $0.id == "name-unresolved" })
            #expect(finding.severity == .critical)
            #expect(finding.message == "ecs.us-east-1.amazonaws.com \(words)")
            #expect(finding.hint.contains(hintWords))
            #expect(summary(assessment) == "CRITICAL ecs unresolved (\(code))")
            messages.append(finding.message)
            hints.append(finding.hint)
        }
        #expect(Set(messages).count == 3)
        #expect(Set(hints).count == 3)
    }

    @Test("no name resolving at all is unresolved, listing each outcome")
    func allUnresolved() {
        let assessment = assess([.failed(.nxdomain), .failed(.timeout), .failed(.error("connection refused"))])
        #expect(assessment.configuration == .unresolved)
        #expect(assessment.health == .critical)
        #expect(assessment.findings.filter { $0.id == "name-unresolved" }.count == 3)
        #expect(assessment.findings[2].message.contains("connection refused"))
        #expect(assessment.endpoints[2].resolution.error == "connection refused")
        #expect(summary(assessment) == "unresolved: ecs-a NXDOMAIN, ecs-t TIMEOUT, ecs ERROR")
    }

    @Test("an endpoint that times out on 443 is critical, with the security-group hint")
    func endpointTimesOut() throws {
        var fakes = allVPC
        fakes[0] = .answer("10.1.4.10", tcp: ["10.1.4.10": .timeout])
        let assessment = assess(fakes)
        #expect(assessment.configuration == .vpcEndpoints)
        #expect(assessment.health == .critical)
        #expect(!assessment.endpointsAcceptConnections)
        #expect(assessment.endpoints[0].addresses[0].tcp == "timeout")
        let finding = try #require(assessment.findings.first { $0.id == "endpoint-not-accepting" })
        #expect(finding.severity == .critical)
        #expect(finding.message == "ecs-a.us-east-1.amazonaws.com resolves to 10.1.4.10 (vpc) but TCP 443 times out")
        #expect(finding.hint.contains("security group"))
        #expect(finding.hint.contains("inbound rule for TCP 443"))
        #expect(summary(assessment) == "CRITICAL ecs-a in VPC but 443 times out (security group?)")
    }

    @Test("an endpoint that refuses 443 is critical, with a hint other than the security group")
    func endpointRefuses() throws {
        var fakes = allVPC
        fakes[1] = .answer("10.200.0.6", tcp: ["10.200.0.6": .refused])
        let assessment = assess(fakes)
        #expect(assessment.health == .critical)
        let finding = try #require(assessment.findings.first { $0.id == "endpoint-not-accepting" })
        #expect(finding.message.hasSuffix("(shared) but TCP 443 is refused"))
        #expect(!finding.hint.contains("security group"))
        #expect(summary(assessment) == "CRITICAL ecs-t shared but 443 is refused")
        let unreachable = assess([.answer("10.1.4.10", tcp: ["10.1.4.10": .unreachable("No route to host")]), allVPC[1], allVPC[2]])
        #expect(unreachable.endpoints[0].addresses[0].detail == "No route to host")
        #expect(unreachable.findings.first?.hint.contains("route table") == true)
    }

    @Test("the websockets' endpoint addresses are the ecs-agent and ecs-telemetry names', not the ecs name's")
    func websocketEndpointAddresses() {
        // An API call to the ecs endpoint reaches it without a restart; the ACS and TCS websockets do not.
        #expect(assess(allVPC).websocketEndpointAddresses == [ip("10.1.4.10"), ip("10.1.5.10"), ip("10.1.4.11")])
        #expect(assess(allPublic).websocketEndpointAddresses.isEmpty)
    }

    @Test("an IPv6 endpoint address this IPv4-only host has no route to, beside an open IPv4 one: info, accepting")
    func dualStackOnIPv4OnlyHost() throws {
        let v6 = "2600:1f18:abcd:1::12"
        var fakes = allVPC
        fakes[2] = .answer("10.1.4.12", v6, tcp: [v6: .unreachable("Network is unreachable")])
        let assessment = assess(fakes)
        #expect(assessment.configuration == .vpcEndpoints)
        #expect(assessment.endpoints[2].addresses[1].tcp == "unreachable")
        #expect(assessment.endpoints[2].unroutedIPv6Addresses.map(\.address) == [ip(v6)])
        #expect(assessment.endpoints[2].failingEndpointAddresses.isEmpty)
        #expect(assessment.endpointsAcceptConnections)
        #expect(assessment.health == .ok)
        #expect(!assessment.findings.contains { $0.id == "endpoint-not-accepting" })
        let finding = try #require(assessment.findings.first { $0.id == "endpoint-ipv6-no-route" })
        #expect(finding.severity == .info)
        #expect(finding.message == "ecs.us-east-1.amazonaws.com: no IPv6 route on this host to \(v6) "
            + "(Network is unreachable); the agent uses 10.1.4.12")
        #expect(assessment.findings.count == 1)
        // The one-line summary (STATUS=, status) agrees: nothing critical.
        #expect(!summary(assessment).contains("CRITICAL"), "\(summary(assessment))")
    }

    @Test("an IPv6 endpoint address that times out or refuses, or IPv6-only answers none can reach, stay critical")
    func dualStackFailuresStayCritical() {
        let v6 = "2600:1f18:abcd:1::12"
        for fake in [
            Fake.answer("10.1.4.12", v6, tcp: [v6: .timeout]),
            .answer("10.1.4.12", v6, tcp: [v6: .refused]),
            .answer(v6, tcp: [v6: .unreachable("Network is unreachable")]),
            .answer("10.1.4.12", v6, tcp: ["10.1.4.12": .unreachable("Network is unreachable")]),
            .answer("10.1.4.12", v6, tcp: ["10.1.4.12": .timeout, v6: .unreachable("Network is unreachable")]),
        ] {
            let assessment = assess([allVPC[0], allVPC[1], fake])
            #expect(assessment.configuration == .vpcEndpoints)
            #expect(!assessment.endpointsAcceptConnections, "\(fake.tcp)")
            #expect(assessment.health == .critical, "\(fake.tcp)")
            #expect(assessment.findings.contains { $0.id == "endpoint-not-accepting" && $0.severity == .critical })
            #expect(!assessment.findings.contains { $0.id == "endpoint-ipv6-no-route" }, "\(fake.tcp)")
        }
    }

    @Test("DNS64 on in the subnet: the synthesized AAAA of an endpoint counts as the endpoint, not public")
    func dns64() throws {
        let fakes = allVPC.map { fake in
            var fake = fake
            fake.addresses = fake.addresses.filter { !$0.contains(":") }
            fake.addresses += fake.addresses.map { "64:ff9b::" + $0 }
            return fake
        }
        let assessment = assess(fakes)
        #expect(assessment.endpoints.map(\.route) == [.vpcEndpoint, .vpcEndpoint, .vpcEndpoint])
        #expect(assessment.configuration == .vpcEndpoints)
        #expect(assessment.endpointsAcceptConnections)
        #expect(assessment.health == .ok)
        let synthesized = try #require(assessment.endpoints[1].addresses.last)
        #expect(synthesized.address == ip("64:ff9b::a01:40b"))
        #expect(synthesized.class == .vpc)
        #expect(synthesized.detail == "synthesized by DNS64 from 10.1.4.11")
    }

    @Test("a public address that cannot be reached is a warning, not critical")
    func publicUnreachable() throws {
        var fakes = allPublic
        fakes[2] = .answer("52.94.1.4", tcp: ["52.94.1.4": .timeout])
        let assessment = assess(fakes)
        #expect(assessment.health == .warning)
        let finding = try #require(assessment.findings.first)
        #expect(finding.id == "public-endpoint-unreachable")
        #expect(finding.message == "ecs.us-east-1.amazonaws.com resolves to public 52.94.1.4 but TCP 443 times out")
    }

    @Test("the Amazon-provided resolver answering endpoint addresses while ours answers public: custom-dns-bypass")
    func customDNSBypass() throws {
        var fakes = allPublic
        for index in fakes.indices { fakes[index].amazon = ["10.1.4.\(20 + index)"] }
        let assessment = assess(fakes)
        #expect(assessment.endpoints.map(\.amazonDNSRoute) == [.vpcEndpoint, .vpcEndpoint, .vpcEndpoint])
        #expect(assessment.configuration == .public)
        #expect(assessment.health == .warning)
        let bypass = assessment.findings.filter { $0.id == "custom-dns-bypass" }
        #expect(bypass.count == 3)
        #expect(bypass[0].message.contains("ecs-a.us-east-1.amazonaws.com"))
        #expect(bypass[0].message.contains("(10.1.0.2:53) answer public"))
        #expect(bypass[0].hint.contains("169.254.169.253"))

        var agreeing = allVPC
        for index in agreeing.indices { agreeing[index].amazon = agreeing[index].addresses }
        let agreed = assess(agreeing)
        #expect(agreed.findings.isEmpty)
        #expect(assess(allVPC).endpoints.allSatisfy { $0.amazonDNSRoute == nil })
    }

    @Test("an answer from the hosts file is reported as an override (info, health stays ok)")
    func hostsFileOverride() throws {
        var fakes = allVPC
        fakes[0].source = .hostsFile(path: "/etc/hosts")
        let assessment = assess(fakes)
        #expect(assessment.endpoints[0].resolution.source == "/etc/hosts")
        let finding = try #require(assessment.findings.first)
        #expect(finding.id == "hosts-file-override")
        #expect(finding.severity == .info)
        #expect(finding.message == "ecs-a.us-east-1.amazonaws.com is pinned in /etc/hosts, not resolved through DNS")
        #expect(assessment.findings.count == 1)
        #expect(assessment.health == .ok)
    }

    @Test("extra names are reported but never change the configuration verdict")
    func extraNamesDoNotCount() throws {
        let extra = WatchedName(service: .extra, name: "ecs-sc.us-east-1.amazonaws.com")
        let assessment = assess(allVPC, extra: [(extra, .failed(.nxdomain))])
        #expect(assessment.endpoints.count == 4)
        #expect(assessment.required.count == 3)
        #expect(assessment.endpoints[3].shortName == "ecs-sc.us-east-1.amazonaws.com")
        #expect(assessment.configuration == .vpcEndpoints)
        #expect(assessment.health == .ok)
    }

    @Test("names per partition: aws and aws-us-gov under amazonaws.com, aws-cn under amazonaws.com.cn", arguments: [
        ("us-east-1", Partition.aws, "amazonaws.com"),
        ("cn-north-1", .awsCN, "amazonaws.com.cn"),
        ("cn-northwest-1", .awsCN, "amazonaws.com.cn"),
        ("us-gov-west-1", .awsUSGov, "amazonaws.com"),
    ])
    func partitions(_ region: String, _ partition: Partition, _ suffix: String) {
        #expect(Partition(region: region) == partition)
        #expect(partition.dnsSuffix == suffix)
        let watched = EndpointNames.watched(region: region, dnsSuffix: Partition(region: region).dnsSuffix)
        #expect(watched.map(\.name) == ["ecs-a.\(region).\(suffix)", "ecs-t.\(region).\(suffix)", "ecs.\(region).\(suffix)"])
        #expect(watched.map(\.service) == [.ecsAgent, .ecsTelemetry, .ecs])
    }

    @Test("extra names are lowercased and deduplicated, against each other and the three required names")
    func extraNamesDeduplicated() {
        let watched = EndpointNames.watched(
            region: "eu-west-1", dnsSuffix: "amazonaws.com.",
            extra: ["ECS-A.eu-west-1.amazonaws.com", "ecs-sc.eu-west-1.amazonaws.com", "ECS-SC.eu-west-1.amazonaws.com",
                    "logs.eu-west-1.amazonaws.com", "ecs-sc.eu-west-1.amazonaws.com"]
        )
        #expect(watched.map(\.name) == [
            "ecs-a.eu-west-1.amazonaws.com", "ecs-t.eu-west-1.amazonaws.com", "ecs.eu-west-1.amazonaws.com",
            "ecs-sc.eu-west-1.amazonaws.com", "logs.eu-west-1.amazonaws.com",
        ])
        #expect(watched.suffix(2).allSatisfy { $0.service == .extra })
    }

    @Test("region codes are recognised", arguments: [
        ("us-east-1", true), ("cn-north-1", true), ("us-gov-west-1", true), ("ap-southeast-4", true),
        ("not a region", false), ("us-east", false), ("US-EAST-1", false), ("us--1", false), ("", false),
    ])
    func regions(_ region: String, _ plausible: Bool) {
        #expect(EndpointNames.isPlausibleRegion(region) == plausible)
    }

    @Test("a region or a DNS suffix that would make names too long for DNS is refused (found by fuzz/run instance-metadata)")
    func regionAndSuffixLeaveRoomForNames() throws {
        let longLabel = String(repeating: "a", count: 64)
        #expect(!EndpointNames.isPlausibleRegion(longLabel + "-north-1"))
        #expect(EndpointNames.isPlausibleRegion(String(repeating: "a", count: 55) + "-north-1"))
        #expect(!EndpointNames.isPlausibleSuffix(longLabel + ".com"))
        #expect(!EndpointNames.isPlausibleSuffix("amazonaws..com"))
        #expect(EndpointNames.isPlausibleSuffix("amazonaws.com.cn"))
        let longest = Array(repeating: String(repeating: "b", count: 60), count: 3).joined(separator: ".")
        #expect(longest.count == EndpointNames.maxSuffixLength - 1 && EndpointNames.isPlausibleSuffix(longest))
        #expect(!EndpointNames.isPlausibleSuffix(longest + "bb"))
        // The longest region and suffix allowed still make names of at most 253 characters.
        let region = String(repeating: "c", count: 61) + "-1-1"
        #expect(!EndpointNames.isPlausibleRegion(region))
        let allowed = String(repeating: "c", count: 59) + "-1-1"
        #expect(EndpointNames.isPlausibleRegion(allowed) && allowed.count == 63)
        for watched in EndpointNames.watched(region: allowed, dnsSuffix: longest + "b") {
            #expect(watched.name.count <= 253, "\(watched.name.count)")
        }
        #expect(throws: ConfigurationError.self) {
            try SettingsParser.parse(file: ("/etc/ecsvpcd/ecsvpcd.conf", "ECSVPCD_DNS_SUFFIX=\(longLabel).com\n"), environment: [:])
        }
    }

    @Test("health is the worst finding; exit codes follow the monitoring-plugin convention")
    func healthOrder() {
        #expect([Health.ok, .critical, .unknown, .warning].max() == .critical)
        #expect(Health.ok < .unknown && Health.unknown < .warning)
        #expect([Health.ok, .warning, .critical, .unknown].map(\.exitCode) == [0, 1, 2, 3])
        #expect(Severity.info.health == .ok)
    }
}
