import ECSVPCCore
import ECSVPCD
import Foundation

#if canImport(Glibc)
import Glibc
#endif
import Testing

private let region = "us-east-1"
private let ecsA = "ecs-a.\(region).amazonaws.com"
private let ecsT = "ecs-t.\(region).amazonaws.com"
private let ecs = "ecs.\(region).amazonaws.com"
private let requiredNames = [ecsA, ecsT, ecs]
/// The "endpoints" listen here; any free port would do, the addresses are unique per test.
private let probePort = 8443

/// One simulated instance on loopback for `ecsvpcd check`: the IMDSv2 emulator (VPC 127.16.0.0/16), a real
/// dnsmasq answering the ECS names, TCP listeners on the "endpoint" addresses. Shared endpoints answer in
/// 127.17.0.0/16 (`ECSVPCD_ENDPOINT_CIDRS`); "public" is 127.200.0.0/16. Everything stops when released.
private final class CheckSandbox: @unchecked Sendable {
    let imds: InstanceMetadataEmulator
    let dns: Dnsmasq
    /// A second dnsmasq standing in for the Amazon-provided resolver, when the test wants one.
    let amazon: Dnsmasq?
    let listeners: [TCPListener]
    let directory: TemporaryDirectory

    /// `names`: the DNS answers; `listening`: the addresses that accept TCP on the probe port; `amazonNames`: the
    /// Amazon-provided resolver's answers.
    init(
        names: [String: [IPAddress]],
        listening: [IPAddress],
        vpcBlocks: [String] = ["127.16.0.0/16"],
        amazonNames: [String: [IPAddress]]? = nil
    ) async throws {
        imds = try await InstanceMetadataEmulator(values: InstanceMetadataEmulator.instance(region: region, ipv4: vpcBlocks))
        dns = try await Dnsmasq(names: names)
        amazon = if let amazonNames { try await Dnsmasq(names: amazonNames) } else { nil }
        listeners = try Set(listening).map { try TCPListener(address: $0, port: probePort) }
        directory = try TemporaryDirectory()
        // One try of one second per server: a dead server must not hold a test for glibc's 2 × 5 s.
        try directory.write("resolv.conf", "options timeout:1 attempts:1\n")
        // As on an instance, the hosts file is read and the Amazon resolver compared: an empty hosts file and our
        // own dnsmasq stand in (not `off`, which hid a leak once).
        try directory.write("hosts", "")
    }

    /// Settings pointing at this sandbox's peers only: the defaults but for what would leave the machine (the
    /// hosts file is an empty one, the Amazon resolver is the sandbox's own dnsmasq unless a test gives one).
    func settings(hostsFile: String? = nil, amazonDNS: DNSServer? = nil, dnsServer: DNSServer? = nil) -> Settings {
        var settings = Settings()
        settings.imdsEndpoint = imds.endpoint
        settings.resolvConf = directory.file("resolv.conf")
        settings.dnsServers = [dnsServer ?? dns.server].map { HostPort(address: $0.address, port: $0.port) }
        settings.hostsFile = hostsFile ?? directory.file("hosts")
        let amazon = amazonDNS ?? dns.server
        settings.amazonDNS = HostPort(address: amazon.address, port: amazon.port)
        settings.endpointCIDRs = [Loopback.sharedCIDR]
        settings.probePort = probePort
        settings.probeTimeout = .milliseconds(700)
        return settings
    }

    func check(_ settings: Settings? = nil) async throws -> StatusDocument {
        try await Check(environment: ObservationEnvironment(settings: settings ?? self.settings())).run()
    }

    /// The configuration file for the built binary, the same settings as `settings()`.
    func configFile() throws -> String {
        try directory.write("ecsvpcd.conf", """
            # check test: every peer on loopback
            ECSVPCD_IMDS_ENDPOINT=\(imds.endpoint)
            ECSVPCD_RESOLV_CONF=\(directory.file("resolv.conf"))
            ECSVPCD_DNS_SERVERS=\(HostPort(address: dns.server.address, port: dns.server.port))
            ECSVPCD_HOSTS_FILE=\(directory.file("hosts"))
            ECSVPCD_AMAZON_DNS=\(HostPort(address: dns.server.address, port: dns.server.port))
            ECSVPCD_ENDPOINT_CIDRS=\(Loopback.sharedCIDR)
            ECSVPCD_PROBE_PORT=\(probePort)
            ECSVPCD_PROBE_TIMEOUT=700ms
            ECSVPCD_STATE_DIR=\(directory.file("state"))
            ECSVPCD_RUNTIME_DIR=\(directory.file("run"))

            """)
        return directory.file("ecsvpcd.conf")
    }

    /// Stops every peer, dnsmasq first (see `offCooperativePool`).
    func stop() async {
        let (listeners, dns, amazon) = (listeners, dns, amazon)
        await offCooperativePool {
            for listener in listeners { listener.close() }
            dns.stop()
            amazon?.stop()
        }
        await imds.stop()
    }
}

/// Runs `body` in a fresh sandbox and stops its peers afterwards, also when `body` throws.
private func withSandbox(
    names: [String: [IPAddress]],
    listening: [IPAddress],
    vpcBlocks: [String] = ["127.16.0.0/16"],
    amazonNames: [String: [IPAddress]]? = nil,
    _ body: (CheckSandbox) async throws -> Void
) async throws {
    let sandbox = try await CheckSandbox(names: names, listening: listening, vpcBlocks: vpcBlocks, amazonNames: amazonNames)
    do {
        try await body(sandbox)
    } catch {
        await sandbox.stop()
        throw error
    }
    await sandbox.stop()
}

/// Answers and listeners: every required name on its own fresh address, made by `make`, accepting TCP.
private func fresh(_ make: () -> IPAddress) -> (names: [String: [IPAddress]], addresses: [IPAddress]) {
    let addresses = requiredNames.map { _ in make() }
    return (Dictionary(uniqueKeysWithValues: zip(requiredNames, addresses.map { [$0] })), addresses)
}

private func endpoint(_ document: StatusDocument, _ name: String) throws -> EndpointReport {
    try #require(document.endpoints.first { $0.name == name })
}

@Suite("ecsvpcd check end to end: IMDSv2 emulator, real dnsmasq, loopback listeners")
struct CheckTests {
    @Test("names on public addresses: configuration public, ok")
    func allPublic() async throws {
        let (names, addresses) = fresh(Loopback.publicAddress)
        try await withSandbox(names: names, listening: addresses) { sandbox in
            let document = try await sandbox.check()
            #expect(document.schema == 1)
            #expect(document.source == "check")
            #expect(document.configuration == .public)
            #expect(document.health == .ok)
            // The only finding: auto's Systems Manager set, which this dnsmasq does not answer (info, readiness).
            #expect(document.findings.map(\.id) == ["run-command-unreachable"])
            #expect(document.summary == "public 0/3 on endpoints")
            #expect(document.endpoints.map(\.name) == requiredNames)
            #expect(document.endpoints.map(\.route) == [.public, .public, .public])
            #expect(document.endpoints.flatMap(\.addresses).map(\.tcp) == ["open", "open", "open"])
            #expect(document.instance.region == region)
            #expect(document.instance.id == "i-0123456789abcdef0")
            #expect(document.instance.vpcCIDRs == [Loopback.vpcCIDR])
            #expect(document.instance.endpointCIDRs == [Loopback.sharedCIDR])
            #expect(document.agent == nil && document.restart == nil, "check never looks at or restarts the agent")
        }
    }

    @Test("names in the VPC: vpc-endpoints, local, every address open")
    func allInVPC() async throws {
        let (names, addresses) = fresh(Loopback.vpc)
        try await withSandbox(names: names, listening: addresses) { sandbox in
            let document = try await sandbox.check()
            #expect(document.configuration == .vpcEndpoints)
            #expect(document.health == .ok)
            #expect(document.summary == "vpc-endpoints 3/3 in VPC, \(probePort) open")
            #expect(document.endpoints.map(\.placement) == [.local, .local, .local])
            for (report, address) in zip(document.endpoints, addresses) {
                #expect(report.addresses.map(\.address) == [address])
                #expect(report.addresses.first?.class == .vpc)
                #expect(report.addresses.first?.tcp == "open")
                #expect(report.addresses.first?.ttl == UInt32(sandbox.dns.ttl))
                #expect(report.resolution.source == sandbox.dns.server.description)
            }
        }
    }

    @Test("an endpoint shared from a hub (address in ENDPOINT_CIDRS, outside the VPC) is placed shared")
    func sharedEndpoint() async throws {
        let (names, addresses) = fresh(Loopback.vpc)
        let shared = Loopback.shared()
        var answers = names
        answers[ecsT] = [shared]
        try await withSandbox(names: answers, listening: addresses + [shared]) { sandbox in
            let document = try await sandbox.check()
            #expect(document.configuration == .vpcEndpoints)
            #expect(document.health == .ok)
            #expect(try endpoint(document, ecsT).placement == .shared)
            #expect(try endpoint(document, ecsT).addresses.first?.class == .shared)
            #expect(document.summary == "vpc-endpoints 3/3 2 in VPC, 1 shared, \(probePort) open")
        }
    }

    @Test("one endpoint missing (its name still public): partial, naming it", arguments: [0, 1, 2])
    func oneMissing(_ index: Int) async throws {
        let (names, addresses) = fresh(Loopback.vpc)
        let publicAddress = Loopback.publicAddress()
        var answers = names
        answers[requiredNames[index]] = [publicAddress]
        try await withSandbox(names: answers, listening: addresses + [publicAddress]) { sandbox in
            let document = try await sandbox.check()
            let missing = ECSService.required[index].rawValue
            #expect(document.configuration == .partial)
            #expect(document.health == .warning)
            #expect(document.summary == "partial 2/3 on endpoints; missing \(missing)")
            #expect(try endpoint(document, requiredNames[index]).route == .public)
            let finding = try #require(document.findings.first { $0.id == "partial-configuration" })
            #expect(finding.message.hasSuffix("missing: \(missing)"))
        }
    }

    @Test("a name answering both a VPC and a public address is mixed")
    func mixedAnswers() async throws {
        let (names, addresses) = fresh(Loopback.vpc)
        let publicAddress = Loopback.publicAddress()
        var answers = names
        answers[ecsA] = [names[ecsA]![0], publicAddress]
        try await withSandbox(names: answers, listening: addresses + [publicAddress]) { sandbox in
            let document = try await sandbox.check()
            let report = try endpoint(document, ecsA)
            #expect(report.route == .mixed)
            #expect(Set(report.addresses.map(\.class)) == [.vpc, .public])
            #expect(report.addresses.allSatisfy { $0.tcp == "open" })
            #expect(document.configuration == .partial)
            #expect(document.findings.contains { $0.id == "mixed-answers" && $0.message.contains(publicAddress.description) })
            #expect(document.health == .warning)
        }
    }

    @Test("a name that does not exist is NXDOMAIN: critical, with the region and suffix hint")
    func nxdomain() async throws {
        let fixture = fresh(Loopback.vpc)
        var names = fixture.names
        let addresses = fixture.addresses
        names[ecs] = nil
        try await withSandbox(names: names, listening: addresses) { sandbox in
            let document = try await sandbox.check()
            let report = try endpoint(document, ecs)
            #expect(report.route == .unresolved)
            #expect(report.resolution.outcome == "nxdomain")
            #expect(document.configuration == .partial)
            #expect(document.health == .critical)
            #expect(document.summary == "CRITICAL ecs unresolved (NXDOMAIN)")
            let finding = try #require(document.findings.first { $0.id == "name-unresolved" })
            #expect(finding.message == "\(ecs) does not exist (NXDOMAIN)")
            #expect(finding.hint.contains("ECSVPCD_REGION"))
        }
    }

    @Test("a DNS server that is down leaves every name unresolved (error or timeout), quickly")
    func dnsServerDown() async throws {
        let (names, addresses) = fresh(Loopback.vpc)
        try await withSandbox(names: names, listening: addresses) { sandbox in
            let down = DNSServer(address: Loopback.dnsServer(), port: sandbox.dns.server.port)
            let start = ContinuousClock.now
            let document = try await sandbox.check(sandbox.settings(dnsServer: down))
            // Refused at once, not waited out: well under the resolvers' timeouts added up (a loaded machine can
            // take seconds to schedule the check's tasks, so the bound guards against waiting, not for speed).
            #expect(ContinuousClock.now - start < .seconds(15))
            #expect(document.configuration == .unresolved)
            #expect(document.health == .critical)
            #expect(document.endpoints.allSatisfy { $0.route == .unresolved && $0.addresses.isEmpty })
            #expect(document.endpoints.allSatisfy { ["error", "timeout"].contains($0.resolution.outcome) })
            #expect(document.summary.hasPrefix("unresolved: ecs-a "))
            #expect(document.findings.filter { $0.id == "name-unresolved" }.count == 3)
        }
    }

    @Test("an answer too big for UDP (40 addresses) is retried over TCP, and every address is probed")
    func truncatedAnswer() async throws {
        let fixture = fresh(Loopback.vpc)
        var names = fixture.names
        let addresses = fixture.addresses
        let many = (1...40).map { _ in Loopback.vpc() }
        names[ecsA] = many
        try await withSandbox(names: names, listening: addresses + many) { sandbox in
            // Forty probes and two TCP lookups (ours and the Amazon resolver's) on a loaded machine: the servers
            // are up, so glibc's default timeout (5 s) and not the sandbox's 1 s for dead servers.
            try sandbox.directory.write("resolv.conf", "options timeout:5 attempts:2\n")
            let document = try await sandbox.check()
            let report = try endpoint(document, ecsA)
            #expect(report.resolution.retriedOverTCP)
            #expect(Set(report.addresses.map(\.address)) == Set(many), "\(report)")
            #expect(report.addresses.allSatisfy { $0.tcp == "open" && $0.class == .vpc })
            #expect(try !endpoint(document, ecsT).resolution.retriedOverTCP)
            #expect(document.configuration == .vpcEndpoints)
            #expect(document.health == .ok)
        }
    }

    @Test("a name pinned in the hosts file wins over DNS and is reported as an override")
    func hostsFileOverride() async throws {
        let (names, addresses) = fresh(Loopback.publicAddress)
        let pinned = Loopback.vpc()
        try await withSandbox(names: names, listening: addresses + [pinned]) { sandbox in
            try sandbox.directory.write("hosts", "127.0.0.1 localhost\n\(pinned) \(ecsA) ecs-a\n")
            let hosts = sandbox.directory.file("hosts")
            let document = try await sandbox.check(sandbox.settings(hostsFile: hosts))
            let report = try endpoint(document, ecsA)
            #expect(report.resolution.source == hosts)
            #expect(report.addresses.map(\.address) == [pinned])
            #expect(report.route == .vpcEndpoint)
            let finding = try #require(document.findings.first { $0.id == "hosts-file-override" })
            #expect(finding.severity == .info)
            #expect(finding.message.contains(hosts))
            #expect(try endpoint(document, ecsT).resolution.source == sandbox.dns.server.description)
        }
    }

    @Test("the Amazon resolver answering VPC addresses while ours answers public is a custom-DNS bypass")
    func amazonResolverDisagrees() async throws {
        let (names, addresses) = fresh(Loopback.publicAddress)
        let (vpcNames, _) = fresh(Loopback.vpc)
        try await withSandbox(names: names, listening: addresses, amazonNames: vpcNames) { sandbox in
            let document = try await sandbox.check(sandbox.settings(amazonDNS: sandbox.amazon?.server))
            #expect(document.configuration == .public)
            #expect(document.endpoints.map(\.amazonDNSRoute) == [.vpcEndpoint, .vpcEndpoint, .vpcEndpoint])
            #expect(document.findings.filter { $0.id == "custom-dns-bypass" }.count == 3)
            #expect(document.health == .warning)

            let agreeing = try await sandbox.check(sandbox.settings(amazonDNS: sandbox.dns.server))
            #expect(agreeing.endpoints.map(\.amazonDNSRoute) == [.public, .public, .public])
            #expect(agreeing.findings.map(\.id) == ["run-command-unreachable"])  // auto's Systems Manager set
        }
    }

    @Test("a VPC endpoint address where nothing listens is refused: critical")
    func refused() async throws {
        let fixture = fresh(Loopback.vpc)
        var names = fixture.names
        let addresses = fixture.addresses
        let silent = Loopback.vpc()
        names[ecsT] = [silent]
        try await withSandbox(names: names, listening: addresses) { sandbox in
            let document = try await sandbox.check()
            #expect(try endpoint(document, ecsT).addresses.first?.tcp == "refused")
            #expect(document.health == .critical)
            #expect(document.summary == "CRITICAL ecs-t in VPC but \(probePort) is refused")
            #expect(document.findings.contains { $0.id == "endpoint-not-accepting" && $0.severity == .critical })
        }
    }

    @Test("a VPC endpoint address that drops SYNs times out: critical, with the security-group hint")
    func timesOut() async throws {
        let fixture = fresh(Loopback.vpc)
        var names = fixture.names
        let addresses = fixture.addresses
        let dropped = Loopback.dropped()
        names[ecsA] = [dropped]
        // The dropped range is part of this instance's VPC here, so the silent address is a local endpoint.
        try await withSandbox(names: names, listening: addresses, vpcBlocks: ["127.16.0.0/16", Loopback.droppedCIDR.description]) { sandbox in
            let start = ContinuousClock.now
            let document = try await sandbox.check()
            let tcp = try endpoint(document, ecsA).addresses.first?.tcp
            #expect(tcp == "timeout", "127.250.0.0/16 must be dropped by iptables (scripts/test installs the rule)")
            #expect(ContinuousClock.now - start >= .milliseconds(600), "waited for the 700 ms probe timeout")
            #expect(document.health == .critical)
            #expect(document.summary == "CRITICAL ecs-a in VPC but \(probePort) times out (security group?)")
            let finding = try #require(document.findings.first { $0.id == "endpoint-not-accepting" })
            #expect(finding.hint.contains("security group"))
        }
    }

    @Test("with instance metadata down and nothing configured, check fails naming the keys to set")
    func metadataDown() async throws {
        let (names, addresses) = fresh(Loopback.vpc)
        try await withSandbox(names: names, listening: addresses) { sandbox in
            var settings = sandbox.settings()
            settings.imdsEndpoint = "http://\(Loopback.metadataServer())"
            do {
                let document = try await sandbox.check(settings)
                Issue.record("check succeeded without instance metadata: \(document.summary)")
            } catch let failure as InstanceContextLoader.Failure {
                #expect(failure.description.contains("ECSVPCD_REGION"))
                #expect(failure.description.contains("ECSVPCD_VPC_CIDRS"))
            }
            settings.region = region
            settings.vpcCIDRs = [Loopback.vpcCIDR]
            let configured = try await sandbox.check(settings)
            #expect(configured.configuration == .vpcEndpoints)
        }
    }

    @Test("the built binary: check --json prints schema 1 and exits with the health code; bad config exits 78")
    func binary() async throws {
        let binary = try builtECSVPCD()
        let (names, addresses) = fresh(Loopback.vpc)
        var answers = names
        let silent = Loopback.vpc()
        answers[ecs] = [silent]
        try await withSandbox(names: answers, listening: addresses) { sandbox in

            let run = try await runBinary(binary, ["check", "--json", "--config", try sandbox.configFile()])
            #expect(run.status == Health.critical.exitCode, "stderr: \(run.stderr)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            #expect(json["schema"] as? Int == 1)
            for field in ["health", "summary", "instance", "endpoints", "configuration", "findings", "updatedAt", "source"] {
                #expect(json[field] != nil, "missing \(field)")
            }
            let document = try StatusDocument.decoder().decode(StatusDocument.self, from: Data(run.stdout.utf8))
            #expect(document.health == .critical)
            #expect(document.summary == "CRITICAL ecs in VPC but \(probePort) is refused")
            let endpoints = try #require(json["endpoints"] as? [[String: Any]])
            #expect(endpoints.map { $0["route"] as? String } == ["vpc-endpoint", "vpc-endpoint", "vpc-endpoint"])
            let firstAddress = try #require((endpoints.first?["addresses"] as? [[String: Any]])?.first)
            #expect(firstAddress["class"] as? String == "vpc")
            #expect(firstAddress["tcp"] as? String == "open")

            try sandbox.directory.write("bad.conf", "# bad\nECSVPCD_PROBE_PORT=8443\nECSVPCD_PROBE_TIMEOUT=forever\n")
            let bad = try await runBinary(binary, ["check", "--config", sandbox.directory.file("bad.conf")])
            #expect(bad.status == 78)
            #expect(bad.stderr.contains("\(sandbox.directory.file("bad.conf")):3: bad value ECSVPCD_PROBE_TIMEOUT"), "\(bad.stderr)")
            #expect(bad.stdout.isEmpty)
        }
    }
}


/// Runs the binary with a clean environment (PATH, NO_COLOR) and stdout/stderr in separate files: posix_spawn, then `waitpid(WNOHANG)`
/// between short sleeps, so no thread of the cooperative pool blocks. Killed after 30 s.
func runBinary(_ binary: String, _ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
    let directory = try TemporaryDirectory()
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, directory.file("out"), O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, directory.file("err"), O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    // The test thread's blocked signals must not leak into the binary.
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
    // Only what the binary needs: no ECSVPCD_ variable of the test's own environment may leak in.
    let words: [String] = [binary] + arguments
    let environment: [String] = ["PATH=/usr/bin:/bin", "NO_COLOR=1"]
    let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
    defer { for pointer in argv + envp { free(pointer) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, binary, &actions, &attributes, argv, envp)
    guard spawned == 0 else { throw BinaryRunError("posix_spawn \(binary): \(String(cString: strerror(spawned)))") }
    var status: Int32 = 0
    let deadline = ContinuousClock.now + .seconds(30)
    while waitpid(pid, &status, WNOHANG) == 0 {
        if ContinuousClock.now > deadline {
            kill(pid, SIGKILL)
            waitpid(pid, &status, 0)
            throw BinaryRunError("\(binary) \(arguments.joined(separator: " ")) did not exit within 30 s")
        }
        try await Task.sleep(for: .milliseconds(10))
    }
    // WIFEXITED / WEXITSTATUS by hand: the C macros are not imported.
    guard status & 0x7f == 0 else { throw BinaryRunError("\(binary) was killed by signal \(status & 0x7f)") }
    let out = (try? String(contentsOfFile: directory.file("out"), encoding: .utf8)) ?? ""
    let err = (try? String(contentsOfFile: directory.file("err"), encoding: .utf8)) ?? ""
    return ((status >> 8) & 0xff, out, err)
}

struct BinaryRunError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
