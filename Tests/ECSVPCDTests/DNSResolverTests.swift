import ECSVPCCore
import ECSVPCD
import Foundation
import Logging
import Testing

private func ip(_ text: String) -> IPAddress {
    guard let address = IPAddress(text) else { fatalError("bad test address \(text)") }
    return address
}

@Suite("DNS resolver against real dnsmasq")
struct DNSResolverDnsmasqTests {
    @Test("answers A and AAAA together, with TTLs and the server as source")
    func answersBothFamilies() async throws {
        let dnsmasq = try await Dnsmasq(names: ["ecs-a.us-east-1.amazonaws.com": [ip("127.200.0.7"), ip("::1")]])
        let resolution = await DNSResolver(configuration: dnsmasq.configuration()).resolve("ECS-A.us-east-1.amazonaws.com.")
        #expect(resolution.outcome == .answered)
        #expect(resolution.addresses.map(\.address) == [ip("127.200.0.7"), ip("::1")])
        #expect(resolution.addresses.allSatisfy { $0.ttl == UInt32(dnsmasq.ttl) })
        #expect(resolution.source == .nameserver(dnsmasq.server.description))
        #expect(!resolution.retriedOverTCP)
        #expect(resolution.cnameChain.isEmpty)
    }

    @Test("follows a CNAME chain and records it")
    func cnameChain() async throws {
        let dnsmasq = try await Dnsmasq(
            names: ["vpce.test": [ip("127.16.0.9")]],
            cnames: [(alias: "ecs.test", target: "step.test"), (alias: "step.test", target: "vpce.test")])
        let resolution = await DNSResolver(configuration: dnsmasq.configuration()).resolve("ecs.test")
        #expect(resolution.outcome == .answered)
        #expect(resolution.cnameChain == ["step.test", "vpce.test"])
        #expect(resolution.addresses.map(\.address) == [ip("127.16.0.9")])
    }

    @Test("an unknown name in a local domain is NXDOMAIN, and NXDOMAIN is final: the next server is not asked")
    func nxdomainIsFinal() async throws {
        let empty = try await Dnsmasq()
        let knowing = try await Dnsmasq(names: ["ecs.test": [ip("127.200.0.1")]])
        let configuration = ResolverConfiguration(servers: [empty.server, knowing.server], timeout: .seconds(5), attempts: 1)
        let resolution = await DNSResolver(configuration: configuration).resolve("ecs.test")
        #expect(resolution.outcome == .nxdomain)
        #expect(resolution.addresses.isEmpty)
        #expect(resolution.source == .nameserver(empty.server.description))
    }

    @Test("a name with records but no address is no-data")
    func noData() async throws {
        let dnsmasq = try await Dnsmasq(noData: ["txt-only.test"])
        let resolution = await DNSResolver(configuration: dnsmasq.configuration()).resolve("txt-only.test")
        #expect(resolution.outcome == .noData)
    }

    @Test("retries a truncated UDP answer over TCP and gets every address")
    func truncatedOverTCP() async throws {
        let many = (1...40).map { IPAddress.v4(0x7f10_0100 | UInt32($0)) }
        let dnsmasq = try await Dnsmasq(names: ["big.test": many])
        let resolution = await DNSResolver(configuration: dnsmasq.configuration()).resolve("big.test")
        #expect(resolution.outcome == .answered)
        #expect(resolution.retriedOverTCP)
        #expect(Set(resolution.addresses.map(\.address)) == Set(many))
    }

    @Test("sees a name flip from public to private after dnsmasq reloads its hosts file")
    func flipsAfterReload() async throws {
        let name = "ecs-t.eu-west-1.amazonaws.com"
        let dnsmasq = try await Dnsmasq(names: [name: [ip("127.200.3.4")]])
        let resolver = DNSResolver(configuration: dnsmasq.configuration())
        #expect(await resolver.resolve(name).addresses.map(\.address) == [ip("127.200.3.4")])
        try await dnsmasq.set(name, [ip("127.16.3.4"), ip("127.16.3.5")])
        #expect(Set(await resolver.resolve(name).addresses.map(\.address)) == [ip("127.16.3.4"), ip("127.16.3.5")])
        try await dnsmasq.set(name, [])
        #expect(await resolver.resolve(name).outcome == .nxdomain)
    }

    @Test("REFUSED from one server moves on to the next, as glibc does")
    func refusedMovesOn() async throws {
        let refusing = try await Dnsmasq(localDomains: ["test"])
        let answering = try await Dnsmasq(names: ["ecs.corp.example": [ip("127.17.0.2")]], localDomains: ["example"])
        let refusedAlone = await DNSResolver(configuration: refusing.configuration()).resolve("ecs.corp.example")
        #expect(refusedAlone.outcome == .rcode(5))
        let configuration = ResolverConfiguration(
            servers: [refusing.server, answering.server], timeout: .seconds(5), attempts: 1)
        let resolution = await DNSResolver(configuration: configuration).resolve("ecs.corp.example")
        #expect(resolution.outcome == .answered)
        #expect(resolution.source == .nameserver(answering.server.description))
    }

    @Test("a server where nothing listens is skipped at once (ICMP port unreachable), alone it is an error")
    func serverDown() async throws {
        let down = DNSServer(address: Loopback.dnsServer(), port: 53)
        let dnsmasq = try await Dnsmasq(names: ["ecs.test": [ip("127.16.0.1")]])
        let start = ContinuousClock.now
        let configuration = ResolverConfiguration(servers: [down, dnsmasq.server], timeout: .seconds(10), attempts: 2)
        let resolution = await DNSResolver(configuration: configuration).resolve("ecs.test")
        #expect(resolution.outcome == .answered)
        #expect(resolution.source == .nameserver(dnsmasq.server.description))
        // Well under the 10 s timeout: the dead server was given up at once, not waited for.
        #expect(ContinuousClock.now - start < .seconds(5))
        let alone = await DNSResolver(configuration: ResolverConfiguration(servers: [down], timeout: .seconds(3)))
            .resolve("ecs.test")
        guard case .error(let text) = alone.outcome else {
            Issue.record("expected an error, got \(alone.outcome)")
            return
        }
        #expect(text.contains("refused") && text.contains(down.description))
    }

    @Test("options rotate starts each lookup at the next server")
    func rotate() async throws {
        let first = try await Dnsmasq(names: ["ecs.test": [ip("127.16.0.1")]])
        let second = try await Dnsmasq(names: ["ecs.test": [ip("127.16.0.2")]])
        var configuration = ResolverConfiguration(servers: [first.server, second.server], timeout: .seconds(5), attempts: 1)
        configuration.rotate = true
        let resolver = DNSResolver(configuration: configuration)
        let answers = [await resolver.resolve("ecs.test"), await resolver.resolve("ecs.test")].map(\.source)
        #expect(Set(answers) == [.nameserver(first.server.description), .nameserver(second.server.description)])
    }
}

@Suite("DNS resolver edges, against a scripted nameserver")
struct DNSResolverEdgeTests {
    @Test("SERVFAIL from one server moves on to the next; from all of them it is servfail")
    func servfail() async throws {
        let failing = try await DNSFakeServer { [DNSFakeServer.answer($0, rcode: .serverFailure)] }
        let answering = try await DNSFakeServer { [DNSFakeServer.answer($0, addresses: [ip("127.16.9.9")])] }
        defer {
            failing.close()
            answering.close()
        }
        let both = ResolverConfiguration(servers: [failing.server, answering.server], timeout: .seconds(5), attempts: 1)
        let resolution = await DNSResolver(configuration: both).resolve("ecs.test")
        #expect(resolution.outcome == .answered)
        #expect(resolution.addresses.map(\.address) == [ip("127.16.9.9")])
        #expect(resolution.addresses.first?.ttl == 30)
        #expect(resolution.source == .nameserver(answering.server.description))
        let alone = ResolverConfiguration(servers: [failing.server], timeout: .seconds(5), attempts: 2)
        #expect(await DNSResolver(configuration: alone).resolve("ecs.test").outcome == .servfail)
        // 1 (first run) + 2 attempts, for A and for AAAA each.
        #expect(failing.queries.count == 6)
    }

    @Test("ignores datagrams with another ID or another question, and keeps waiting for the real answer")
    func ignoresStrangers() async throws {
        let fake = try await DNSFakeServer { query in
            var otherID = query
            otherID.id &+= 1
            var otherQuestion = query
            otherQuestion.questions = [DNSQuestion(name: (try? DNSName("evil.test")) ?? query.questions[0].name, type: .a)]
            return [
                DNSFakeServer.answer(otherID, addresses: [ip("127.200.6.6"), ip("::1")]),
                DNSFakeServer.answer(otherQuestion, addresses: [ip("127.200.6.6")]),
                [0xff],
                DNSFakeServer.answer(query, addresses: [ip("127.16.6.6")]),
            ]
        }
        defer { fake.close() }
        let resolution = await DNSResolver(configuration: ResolverConfiguration(servers: [fake.server], timeout: .seconds(5)))
            .resolve("ecs.test")
        #expect(resolution.outcome == .answered)
        #expect(resolution.addresses.map(\.address) == [ip("127.16.6.6")])
    }

    @Test("times out after timeout × attempts when the server stays silent")
    func timeout() async throws {
        let silent = try await DNSFakeServer { _ in [] }
        defer { silent.close() }
        let configuration = ResolverConfiguration(servers: [silent.server], timeout: .milliseconds(300), attempts: 2)
        let start = ContinuousClock.now
        let resolution = await DNSResolver(configuration: configuration).resolve("ecs.test")
        let elapsed = ContinuousClock.now - start
        #expect(resolution.outcome == .timeout)
        // At least timeout × attempts, and it does end (the bound is loose for a loaded machine).
        #expect(elapsed >= .milliseconds(600) && elapsed < .seconds(10))
        // The fake server records datagrams on its own event loop: give it a moment on a loaded machine.
        let deadline = ContinuousClock.now + .seconds(5)
        while silent.queries.count < 4 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(silent.queries.count == 4)
        #expect(Set(silent.queries.compactMap { $0.questions.first?.type }) == [.a, .aaaa])
    }

    @Test("an unreadable answer carrying our ID is an error naming the server, and the next server is tried")
    func unreadableAnswer() async throws {
        let broken = try await DNSFakeServer { query in
            [[UInt8(query.id >> 8), UInt8(query.id & 0xff), 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xc0]]
        }
        defer { broken.close() }
        let alone = await DNSResolver(configuration: ResolverConfiguration(servers: [broken.server], timeout: .seconds(5)))
            .resolve("ecs.test")
        guard case .error(let text) = alone.outcome else {
            Issue.record("expected an error, got \(alone.outcome)")
            return
        }
        #expect(text.contains(broken.server.description) && text.contains("unreadable"))
        let answering = try await DNSFakeServer { [DNSFakeServer.answer($0, addresses: [ip("127.16.7.7")])] }
        defer { answering.close() }
        let both = ResolverConfiguration(servers: [broken.server, answering.server], timeout: .seconds(5), attempts: 1)
        let resolution = await DNSResolver(configuration: both).resolve("ecs.test")
        #expect(resolution.outcome == .answered)
        #expect(resolution.source == .nameserver(answering.server.description))
    }

    @Test("asks an IPv6 nameserver given as [::1]:PORT")
    func ipv6Server() async throws {
        let fake = try await DNSFakeServer(host: ip("::1")) { [DNSFakeServer.answer($0, addresses: [ip("127.16.0.6"), ip("::1")])] }
        defer { fake.close() }
        let server = try #require(DNSServer("[::1]:\(fake.server.port)"))
        let resolution = await DNSResolver(configuration: ResolverConfiguration(servers: [server], timeout: .seconds(5)))
            .resolve("ecs.test")
        #expect(resolution.outcome == .answered)
        #expect(resolution.addresses.map(\.address) == [ip("127.16.0.6"), ip("::1")])
        #expect(resolution.source == .nameserver("[::1]:\(fake.server.port)"))
    }

    @Test("the hosts file is read first, on every lookup, case-insensitively")
    func hostsFileFirst() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("hosts", "127.16.1.1 ecs.test\n")
        let silent = try await DNSFakeServer { _ in [] }
        defer { silent.close() }
        var configuration = ResolverConfiguration(servers: [silent.server], timeout: .milliseconds(200), attempts: 1)
        configuration.hostsFile = directory.file("hosts")
        let resolver = DNSResolver(configuration: configuration)
        let first = await resolver.resolve("ECS.test.")
        #expect(first.outcome == .answered)
        #expect(first.addresses == [ResolvedAddress(address: ip("127.16.1.1"), ttl: 0)])
        #expect(first.source == .hostsFile(path: directory.file("hosts")))
        try directory.write("hosts", "127.16.1.2 ecs.test\n::1 ecs.test\n")
        #expect(await resolver.resolve("ecs.test").addresses.map(\.address) == [ip("127.16.1.2"), ip("::1")])
        #expect(silent.queries.isEmpty)
        try directory.write("hosts", "127.16.1.2 other.test\n")
        #expect(await resolver.resolve("ecs.test").outcome == .timeout)
    }

    @Test("a name that cannot be put on the wire is an error, not a query")
    func invalidName() async {
        let resolver = DNSResolver(configuration: ResolverConfiguration(servers: [], timeout: .milliseconds(100)))
        for name in ["", ".", "a..b", String(repeating: "x", count: 64) + ".test"] {
            guard case .error = await resolver.resolve(name).outcome else {
                Issue.record("\(name) was not refused")
                continue
            }
        }
    }
}

@Suite(
    "DNS resolver following resolv.conf, against scripted nameservers",
    .enabled(if: geteuid() == 0, "a nameserver line takes no port: the scripted nameservers need port 53, so root")
)
struct DNSResolverResolvConfTests {
    @Test("asks the nameservers of a rewritten resolv.conf on the next lookup, without a rebuild, and logs the change once")
    func followsRewrittenResolvConf() async throws {
        let custom = try await DNSFakeServer(port: 53) { [DNSFakeServer.answer($0, addresses: [ip("127.200.8.1")])] }
        let amazon = try await DNSFakeServer(port: 53) { [DNSFakeServer.answer($0, addresses: [ip("127.16.8.1")])] }
        defer {
            custom.close()
            amazon.close()
        }
        let directory = try TemporaryDirectory()
        let path = directory.file("resolv.conf")
        try directory.write("resolv.conf", "nameserver \(custom.server.address)\noptions timeout:2 attempts:1\n")
        let sink = CapturingLogHandler.LogSink()
        let logger = Logger(label: "test") { _ in CapturingLogHandler(sink: sink) }
        let resolver = DNSResolver(resolvConf: ResolvConfFile(path: path, hostsFile: nil, logger: logger))

        let before = await resolver.resolve("ecs.test")
        #expect(before.addresses.map(\.address) == [ip("127.200.8.1")])
        #expect(before.source == .nameserver(custom.server.description))
        #expect(sink.all.isEmpty)

        // What dhclient does when the DHCP options set goes from custom DNS to AmazonProvidedDNS.
        try directory.write("resolv.conf", "nameserver \(amazon.server.address)\noptions timeout:2 attempts:1\n")
        for _ in 0..<2 {
            let after = await resolver.resolve("ecs.test")
            #expect(after.addresses.map(\.address) == [ip("127.16.8.1")])
            #expect(after.source == .nameserver(amazon.server.description))
        }
        #expect(custom.queries.count == 2)
        #expect(sink.all.map(\.message) == ["resolv.conf changed: nameservers \(amazon.server) (were \(custom.server))"])
        #expect(sink.all.map(\.level) == [.notice])
    }
}
