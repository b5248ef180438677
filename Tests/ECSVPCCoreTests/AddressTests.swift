import ECSVPCCore
import Testing

@Suite("Addresses")
struct AddressTests {
    @Test("parses and prints IPv4 and IPv6 addresses", arguments: [
        "10.0.0.1", "255.255.255.255", "::1", "fd00:ec2::253", "2600:1f18:abcd::1", "::ffff:10.1.2.3", "1:2:3:4:5:6:7:8",
    ])
    func roundTrip(_ text: String) throws {
        let address = try #require(IPAddress(text))
        #expect(IPAddress(address.description) == address)
    }

    @Test("rejects malformed addresses", arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1::2::3", "12345::", ":::", "a.b.c.d", "1:2:3:4:5:6:7:8:9", "١.٢.٣.٤",
    ])
    func rejects(_ text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test("prints IPv6 in RFC 5952 form")
    func canonical() {
        #expect(IPAddress("fd00:0ec2:0:0:0:0:0:0253")?.description == "fd00:ec2::253")
        #expect(IPAddress("0:0:0:0:0:0:0:1")?.description == "::1")
        #expect(IPAddress("1:0:2:0:3:0:0:4")?.description == "1:0:2:0:3::4")
    }

    @Test("CIDR membership, including IPv4-mapped IPv6")
    func cidr() throws {
        let net = try #require(CIDR("172.16.0.0/12"))
        #expect(net.contains(try #require(IPAddress("172.31.255.255"))))
        #expect(!net.contains(try #require(IPAddress("172.32.0.0"))))
        #expect(net.contains(try #require(IPAddress("::ffff:172.20.1.1"))))
        let ula = try #require(CIDR("fc00::/7"))
        #expect(ula.contains(try #require(IPAddress("fd00:ec2::253"))))
        #expect(!ula.contains(try #require(IPAddress("2600::1"))))
        #expect(try #require(CIDR("0.0.0.0/0")).contains(try #require(IPAddress("8.8.8.8"))))
        #expect(CIDR("10.0.0.0/33") == nil)
        #expect(CIDR("10.1.2.3/8")?.description == "10.0.0.0/8")
    }

    @Test("classifies VPC, shared-endpoint and public addresses")
    func classify() throws {
        let classifier = AddressClassifier(
            vpcCIDRs: [try #require(CIDR("10.1.0.0/16"))],
            endpointCIDRs: AddressClassifier.defaultEndpointCIDRs
        )
        #expect(classifier.classify(try #require(IPAddress("10.1.2.3"))) == .vpc)
        #expect(classifier.classify(try #require(IPAddress("10.9.2.3"))) == .shared)
        #expect(classifier.classify(try #require(IPAddress("100.64.0.1"))) == .shared)
        #expect(classifier.classify(try #require(IPAddress("52.94.1.1"))) == .public)
    }

    @Test("a DNS64 address (64:ff9b::/96) is classed by the IPv4 address in its last 32 bits")
    func classifyDNS64() throws {
        let classifier = AddressClassifier(
            vpcCIDRs: [try #require(CIDR("10.0.0.0/16"))],
            endpointCIDRs: AddressClassifier.defaultEndpointCIDRs
        )
        let synthesized = try #require(IPAddress("64:ff9b::a00:105"))
        #expect(synthesized.dns64IPv4 == IPAddress("10.0.1.5"))
        #expect(classifier.classify(synthesized) == .vpc)
        #expect(classifier.classify(try #require(IPAddress("64:ff9b::10.200.0.5"))) == .shared)
        #expect(classifier.classify(try #require(IPAddress("64:ff9b::52.94.1.1"))) == .public)
        for other in ["64:ff9b:1::a00:105", "64:ff9b::1:a00:105", "::a00:105", "2600:1f18::a00:105", "10.0.1.5"] {
            #expect(try #require(IPAddress(other)).dns64IPv4 == nil, "\(other)")
        }
    }
}

@Suite("Settings parser details")
struct SettingsParserDetailTests {
    @Test("suggests the closest key for a typo")
    func typo() {
        #expect(throws: ConfigurationError.self) {
            try SettingsParser.parse(file: ("/c", "ECSVPCD_INTERVALL=30s\n"), environment: [:])
        }
        do {
            _ = try SettingsParser.parse(file: ("/c", "ECSVPCD_INTERVALL=30s\n"), environment: [:])
        } catch {
            #expect(error.description.contains("did you mean ECSVPCD_INTERVAL?"))
        }
    }

    @Test("durations take digits and a unit only", arguments: ["+5s", "-5s", "5 s", "s", ""])
    func signedDuration(_ text: String) {
        #expect(DurationText.parse(text) == nil)
    }

    @Test("DOCKER_HOST over TCP, or without a socket path, is not taken as the default")
    func dockerTCP() throws {
        for docker in ["tcp://127.0.0.1:2375", "unix:///", "unix://docker.sock"] {
            let settings = try SettingsParser.parse(file: nil, environment: ["DOCKER_HOST": docker])
            #expect(settings.dockerHost == "unix:///var/run/docker.sock", "\(docker)")
        }
    }
}
