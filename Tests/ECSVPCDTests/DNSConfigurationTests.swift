import ECSVPCCore
import ECSVPCD
import Foundation
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
        #expect(configuration.servers.map(\.description) == ["169.254.169.253:53", "[fd00:ec2::253]:53", "[fe80::1]:53"])
        #expect(configuration.timeout == .seconds(3))
        #expect(configuration.attempts == 4)
        #expect(configuration.rotate)
        #expect(configuration.hostsFile == nil)
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
        let configuration = ResolverConfiguration.load(
            resolvConf: directory.file("resolv.conf"), hostsFile: "/etc/hosts", servers: explicit)
        #expect(configuration.servers.map(\.description) == ["127.53.0.9:5353", "[::1]:53"])
        #expect(configuration.timeout == .seconds(1))
        #expect(configuration.rotate)
        #expect(configuration.hostsFile == "/etc/hosts")
        let missing = ResolverConfiguration.load(resolvConf: directory.file("absent"), hostsFile: nil)
        #expect(missing.servers.isEmpty && missing.attempts == 2)
    }

    @Test("parses IP, IP:PORT, [v6]:PORT and bare v6 servers, and refuses the rest")
    func servers() {
        #expect(DNSServer("127.0.0.1")?.description == "127.0.0.1:53")
        #expect(DNSServer("127.53.1.2:5353")?.port == 5353)
        #expect(DNSServer("[::1]:5300")?.description == "[::1]:5300")
        #expect(DNSServer("[::1]")?.port == 53)
        #expect(DNSServer("fd00:ec2::253")?.description == "[fd00:ec2::253]:53")
        #expect(DNSServer(" fe80::1%eth0 ")?.address == IPAddress("fe80::1"))
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
