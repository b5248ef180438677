import ECSVPCCore
import ECSVPCD
import Foundation
import Logging
import Testing

@Suite("DNS configuration: resolv.conf, servers, hosts file")
struct DNSConfigurationTests {
    @Test("reads nameservers and options the way glibc does")
    func resolvConf() {
        let configuration = ResolverConfiguration.parse(resolvConf: """
            # generated
            ; also a comment
            search ec2.internal
            nameserver 169.254.169.253
            nameserver   fd00:ec2::253
            nameserver not-an-address
            nameserver fe80::1%eth0
            nameserver 10.0.0.2
            options ndots:2 timeout:3 attempts:4
            options rotate
            """)
        #expect(configuration.servers.map(\.description) == ["169.254.169.253:53", "[fd00:ec2::253]:53"])
        #expect(configuration.timeout == .seconds(3))
        #expect(configuration.attempts == 4)
        #expect(configuration.rotate)
        #expect(configuration.hostsFile == nil)
    }

    @Test("a link-local nameserver with a scope is skipped with a note, not asked without its scope")
    func scopedNameserver() {
        let configuration = ResolverConfiguration.parse(resolvConf: """
            nameserver fe80::1%eth0
            nameserver 10.0.0.2
            nameserver fd00:ec2::253
            nameserver 10.0.0.3
            """)
        #expect(configuration.servers.map(\.description) == ["10.0.0.2:53", "[fd00:ec2::253]:53"])
        #expect(configuration.effectiveServers == configuration.servers)
        #expect(configuration.problems == ["link-local nameserver fe80::1%eth0: not supported, skipped"])
        #expect(ResolverConfiguration.parse(resolvConf: "nameserver 10.0.0.2").problems.isEmpty)

        let only = ResolverConfiguration.parse(resolvConf: "nameserver fe80::1%eth0\n")
        #expect(only.servers.isEmpty)
        #expect(only.problems == ["link-local nameserver fe80::1%eth0: not supported, and no other nameserver to ask"])
        #expect(only.effectiveServers.map(\.description) == ["[fe80::1]:53"])
        #expect(DNSServer("fe80::1%eth0") == nil)
        #expect(DNSServer("[fe80::1%eth0]:53") == nil)
    }

    @Test("defaults to 5 s, 2 attempts and 127.0.0.1 when resolv.conf says nothing; clamps options like glibc")
    func defaultsAndClamping() {
        let empty = ResolverConfiguration.parse(resolvConf: "")
        #expect(empty.servers.isEmpty)
        #expect(empty.effectiveServers == [DNSServer("127.0.0.1:53")].compactMap { $0 })
        #expect(empty.timeout == .seconds(5))
        #expect(empty.attempts == 2)
        #expect(!empty.rotate)
        let clamped = ResolverConfiguration.parse(resolvConf: "options timeout:99 attempts:0\noptions timeout:x")
        #expect(clamped.timeout == .seconds(30))
        #expect(clamped.attempts == 1)
    }

    @Test("explicit servers replace resolv.conf's nameservers but keep its options")
    func load() throws {
        let directory = try TemporaryDirectory()
        try directory.write("resolv.conf", "nameserver 127.0.0.53\noptions timeout:1 rotate\n")
        let explicit = DNSServer.list("127.53.0.9:5353, [::1]:53")
        let configuration = ResolvConfFile(
            path: directory.file("resolv.conf"), hostsFile: "/etc/hosts", servers: explicit, logger: Logger(label: "test")
        ).current()
        #expect(configuration.servers.map(\.description) == ["127.53.0.9:5353", "[::1]:53"])
        #expect(configuration.timeout == .seconds(1))
        #expect(configuration.rotate)
        #expect(configuration.hostsFile == "/etc/hosts")
        let missing = ResolvConfFile(path: directory.file("absent"), hostsFile: nil, logger: Logger(label: "test")).current()
        #expect(missing.servers.isEmpty && missing.attempts == 2)
    }

    @Test("parses IP, IP:PORT, [v6]:PORT and bare v6 servers, and refuses the rest")
    func servers() {
        #expect(DNSServer("127.0.0.1")?.description == "127.0.0.1:53")
        #expect(DNSServer("127.53.1.2:5353")?.port == 5353)
        #expect(DNSServer("[::1]:5300")?.description == "[::1]:5300")
        #expect(DNSServer("[::1]")?.port == 53)
        #expect(DNSServer("fd00:ec2::253")?.description == "[fd00:ec2::253]:53")
        #expect(DNSServer(" fe80::1 ")?.address == IPAddress("fe80::1"))
        for bad in ["", "dns.example", "dns.example:53", "1.2.3.4:0", "1.2.3.4:65536", "[::1", "[::1]x", "1.2.3.4:", "::1]:53"] {
            #expect(DNSServer(bad) == nil, "\(bad)")
        }
        #expect(DNSServer.list("127.0.0.1, nonsense") == nil)
        #expect(DNSServer.list("")?.isEmpty == true)
    }

    @Test("hosts file: aliases, comments, case, trailing dot, several lines for one name")
    func hostsFile() {
        let hosts = HostsFile.parse("""
            127.0.0.1\tlocalhost
            # 127.16.0.9 commented.example
            127.16.0.1 ecs-a.us-east-1.amazonaws.com ecs-agent-alias # trailing comment
            ::1 ECS-A.us-east-1.amazonaws.com
            127.16.0.1 ecs-a.us-east-1.amazonaws.com
            fe80::5%eth0 scoped.example
            not-an-ip broken.example
            127.16.0.2
            """)
        #expect(
            hosts.addresses(for: "Ecs-A.US-East-1.amazonaws.com.")
                == [IPAddress("127.16.0.1"), IPAddress("::1")].compactMap { $0 })
        #expect(hosts.addresses(for: "ecs-agent-alias") == [IPAddress("127.16.0.1")].compactMap { $0 })
        #expect(hosts.addresses(for: "scoped.example") == [IPAddress("fe80::5")].compactMap { $0 })
        #expect(hosts.addresses(for: "commented.example").isEmpty)
        #expect(hosts.addresses(for: "broken.example").isEmpty)
        #expect(hosts.addresses(for: "localhost") == [IPAddress("127.0.0.1")].compactMap { $0 })
    }
}

@Suite("DNS configuration: resolv.conf followed as it changes")
struct ResolvConfFileTests {
    @Test("a resolv.conf that names no nameserver or cannot be read gives glibc's fallback, as at start-up, and says why")
    func brokenResolvConf() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("resolv.conf")
        try directory.write("resolv.conf", "nameserver 127.53.0.1\nnameserver 127.53.0.2\n")
        let sink = CapturingLogHandler.LogSink()
        let logger = Logger(label: "test") { _ in CapturingLogHandler(sink: sink) }
        let file = ResolvConfFile(path: path, hostsFile: nil, logger: logger)
        let fallback = [ResolverConfiguration.fallbackServer]
        #expect(file.current().servers.map(\.description) == ["127.53.0.1:53", "127.53.0.2:53"])

        try directory.write("resolv.conf", "search ec2.internal\noptions timeout:1\n")
        let empty = file.current()
        #expect(empty.effectiveServers == fallback)
        #expect(empty.timeout == .seconds(1))
        try directory.write("resolv.conf", "nameserver 127.53.0.3\n")
        #expect(file.current().servers.map(\.description) == ["127.53.0.3:53"])
        try FileManager.default.removeItem(atPath: path)
        let missing = file.current()
        #expect(missing.effectiveServers == fallback)
        #expect(missing.timeout == ResolverConfiguration.defaultTimeout)
        #expect(file.current() == missing)

        #expect(sink.all.map(\.level) == [.warning, .notice, .warning])
        #expect(sink.all.map(\.message) == [
            "resolv.conf changed: nameservers 127.0.0.1:53 (were 127.53.0.1:53, 127.53.0.2:53); \(path) names no nameserver, "
                + "so glibc's fallback server is asked",
            "resolv.conf changed: nameservers 127.53.0.3:53 (were 127.0.0.1:53)",
            "resolv.conf changed: nameservers 127.0.0.1:53 (were 127.53.0.3:53); cannot read \(path): No such file or directory, "
                + "so glibc's defaults and its fallback server are used",
        ])
    }

    @Test("explicit servers stay whatever resolv.conf becomes; its options are followed, and nothing is logged")
    func explicitServersWin() throws {
        let directory = try TemporaryDirectory()
        try directory.write("resolv.conf", "nameserver 127.53.0.1\n")
        let sink = CapturingLogHandler.LogSink()
        let explicit = DNSServer.list("127.53.0.9:5353")
        let file = ResolvConfFile(
            path: directory.file("resolv.conf"), hostsFile: "/etc/hosts", servers: explicit,
            logger: Logger(label: "test") { _ in CapturingLogHandler(sink: sink) })
        try directory.write("resolv.conf", "nameserver 127.53.0.2\noptions attempts:3\n")
        let changed = file.current()
        #expect(changed.servers == explicit)
        #expect(changed.attempts == 3)
        #expect(changed.hostsFile == "/etc/hosts")
        try FileManager.default.removeItem(atPath: directory.file("resolv.conf"))
        #expect(file.current().servers == explicit)
        #expect(sink.all.isEmpty)
    }
}
