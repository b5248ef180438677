import ECSVPCCore
import ECSVPCD
import Foundation
import Testing

/// Settings with nothing learned yet, every value from instance metadata at `endpoint`.
private func loader(_ endpoint: String, _ change: (inout Settings) -> Void = { _ in }) throws -> InstanceContextLoader {
    var settings = Settings()
    settings.imdsEndpoint = endpoint
    change(&settings)
    return InstanceContextLoader(
        settings: settings,
        // Generous: with the whole suite running at once on two cores, the Python emulator can take over half a
        // second to answer, and a timed-out token request is asked again (a test counts the token requests).
        metadata: try InstanceMetadataClient(endpoint: endpoint, requestTimeout: .seconds(3))
    )
}

/// Runs `body` with an emulator serving `values`, and stops the emulator afterwards, also when `body` throws.
private func withEmulator(
    _ values: [String: String],
    _ body: (InstanceMetadataEmulator) async throws -> Void
) async throws {
    let imds = try await InstanceMetadataEmulator(values: values)
    do {
        try await body(imds)
    } catch {
        await imds.stop()
        throw error
    }
    await imds.stop()
}

/// The loader's failure, or nil when it learned a context.
private func failure(of loader: InstanceContextLoader) async -> InstanceContextLoader.Failure? {
    do {
        _ = try await loader.load()
        return nil
    } catch {
        return error
    }
}

@Suite("Instance metadata against the IMDSv2 emulator")
struct InstanceMetadataTests {
    @Test("gets a token once and reuses it for every GET")
    func tokenReused() async throws {
        try await withEmulator(InstanceMetadataEmulator.instance(region: "eu-west-1")) { imds in
            let client = try InstanceMetadataClient(endpoint: imds.endpoint)
            #expect(try await client.get("placement/region") == "eu-west-1")
            #expect(try await client.get("instance-id") == "i-0123456789abcdef0")
            #expect(try await client.get("mac") == "0e:12:34:56:78:9a")
            #expect(imds.requests == [
                "PUT /latest/api/token 200",
                "GET /latest/meta-data/placement/region 200",
                "GET /latest/meta-data/instance-id 200",
                "GET /latest/meta-data/mac 200",
            ])
        }
    }

    @Test("a revoked token answers 401; the client gets a new token and succeeds")
    func refreshesRevokedToken() async throws {
        try await withEmulator(InstanceMetadataEmulator.instance(region: "ap-south-1")) { imds in
            let client = try InstanceMetadataClient(endpoint: imds.endpoint)
            #expect(try await client.get("placement/region") == "ap-south-1")
            try await imds.revokeTokens()
            let before = imds.requests.count
            #expect(try await client.get("placement/region") == "ap-south-1")
            #expect(Array(imds.requests.dropFirst(before)) == [
                "GET /latest/meta-data/placement/region 401",
                "PUT /latest/api/token 200",
                "GET /latest/meta-data/placement/region 200",
            ])
            #expect(imds.requests.filter { $0.hasPrefix("PUT /latest/api/token 200") }.count == 3, "client twice, revocation check once")
        }
    }

    @Test("the emulator follows IMDSv2: no token is 401, a forwarded PUT is 403, a PUT without TTL is 400")
    func emulatorFollowsProtocol() async throws {
        try await withEmulator(InstanceMetadataEmulator.instance()) { imds in
            let http = HTTPClient()
            let target = try HTTPTarget(url: imds.endpoint)
            let noToken = try await http.send("GET", target, path: "/latest/meta-data/placement/region", timeout: .seconds(2))
            #expect(noToken.status == 401)
            let badToken = try await http.send(
                "GET", target, path: "/latest/meta-data/placement/region", headers: [("X-aws-ec2-metadata-token", "forged")],
                timeout: .seconds(2))
            #expect(badToken.status == 401)
            let forwarded = try await http.send(
                "PUT", target, path: "/latest/api/token",
                headers: [("X-aws-ec2-metadata-token-ttl-seconds", "60"), ("X-Forwarded-For", "10.0.0.9")], timeout: .seconds(2))
            #expect(forwarded.status == 403)
            let noTTL = try await http.send("PUT", target, path: "/latest/api/token", timeout: .seconds(2))
            #expect(noTTL.status == 400)
            let token = try await http.send(
                "PUT", target, path: "/latest/api/token", headers: [("X-aws-ec2-metadata-token-ttl-seconds", "60")],
                timeout: .seconds(2))
            #expect(token.status == 200)
            let listing = try await http.send(
                "GET", target, path: "/latest/meta-data/network/interfaces/macs/",
                headers: [("X-aws-ec2-metadata-token", token.bodyText)], timeout: .seconds(2))
            #expect(listing.status == 200)
            #expect(listing.bodyText == "0e:12:34:56:78:9a/")
        }
    }

    @Test("learns region, instance id, MAC and the VPC's IPv4 and IPv6 CIDR blocks")
    func learnsContext() async throws {
        let values = InstanceMetadataEmulator.instance(
            region: "us-west-2", ipv4: ["10.1.0.0/16", "100.64.0.0/16"], ipv6: ["2600:1f14:abc:de00::/56"])
        try await withEmulator(values) { imds in
            let context = try await loader(imds.endpoint).load()
            #expect(context.region == "us-west-2")
            #expect(context.instanceID == "i-0123456789abcdef0")
            #expect(context.mac == "0e:12:34:56:78:9a")
            #expect(context.dnsSuffix == "amazonaws.com")
            #expect(context.vpcCIDRs.map(\.description) == ["10.1.0.0/16", "100.64.0.0/16", "2600:1f14:abc:de00::/56"])
            #expect(imds.requests.filter { $0.hasPrefix("PUT") }.count == 1)
        }
    }

    @Test("a VPC without IPv6 (vpc-ipv6-cidr-blocks 404) gives its IPv4 blocks and no problem")
    func noIPv6Blocks() async throws {
        try await withEmulator(InstanceMetadataEmulator.instance(ipv4: ["10.1.0.0/16"], ipv6: [])) { imds in
            let context = try await loader(imds.endpoint).load()
            #expect(context.vpcCIDRs.map(\.description) == ["10.1.0.0/16"])
            #expect(imds.requests.contains("GET /latest/meta-data/network/interfaces/macs/0e:12:34:56:78:9a/vpc-ipv6-cidr-blocks 404"))
        }
    }

    @Test("a VPC CIDR blocks path failing other than 404 is a problem naming ECSVPCD_VPC_CIDRS, learned once it answers", arguments: [
        ("vpc-ipv6-cidr-blocks", 500), ("vpc-ipv6-cidr-blocks", 429), ("vpc-ipv6-cidr-blocks", 503), ("vpc-ipv4-cidr-blocks", 500),
    ])
    func blocksPathFails(_ leaf: String, _ status: Int) async throws {
        let values = InstanceMetadataEmulator.instance(ipv4: ["10.1.0.0/16"], ipv6: ["2600:1f14:abc:de00::/56"])
        try await withEmulator(values) { imds in
            let path = "network/interfaces/macs/0e:12:34:56:78:9a/" + leaf
            try imds.answer([path: status])
            let loader = try loader(imds.endpoint)
            let failure = try #require(await failure(of: loader), "a context without the VPC's blocks was taken as complete")
            let problem = try #require(failure.problems.first { $0.detail.contains(leaf) })
            #expect(problem.value == "VPC CIDR blocks")
            #expect(problem.key == "ECSVPCD_VPC_CIDRS")
            #expect(problem.detail.contains("HTTP \(status)"), "\(problem.detail)")
            #expect(failure.description.contains("set ECSVPCD_VPC_CIDRS in the configuration"))

            // The next try, once the path answers again, learns both families.
            try imds.answer([:])
            let context = try await loader.load()
            #expect(context.vpcCIDRs.map(\.description) == ["10.1.0.0/16", "2600:1f14:abc:de00::/56"])
        }
    }

    @Test("with ECSVPCD_VPC_CIDRS set, a failing vpc-ipv6-cidr-blocks is never asked")
    func configuredBlocksIgnoreFailingPath() async throws {
        try await withEmulator(InstanceMetadataEmulator.instance(ipv6: ["2600:1f14:abc:de00::/56"])) { imds in
            try imds.answer(["network/interfaces/macs/0e:12:34:56:78:9a/vpc-ipv6-cidr-blocks": 500])
            let context = try await loader(imds.endpoint) { $0.vpcCIDRs = [CIDR("10.9.0.0/16")!] }.load()
            #expect(context.vpcCIDRs == [CIDR("10.9.0.0/16")!])
            #expect(context.mac == nil)
            #expect(!imds.requests.contains { $0.contains("/network/interfaces/") })
        }
    }

    @Test("without services/domain the partition gives the DNS suffix", arguments: [
        ("cn-north-1", "amazonaws.com.cn"), ("us-gov-east-1", "amazonaws.com"), ("eu-north-1", "amazonaws.com"),
    ])
    func suffixFromPartition(_ region: String, _ suffix: String) async throws {
        try await withEmulator(InstanceMetadataEmulator.instance(region: region, domain: nil)) { imds in
            let context = try await loader(imds.endpoint).load()
            #expect(context.region == region)
            #expect(context.dnsSuffix == suffix)
            #expect(imds.requests.contains("GET /latest/meta-data/services/domain 404"))
        }
    }

    @Test("services/domain, when present, gives the DNS suffix")
    func suffixFromMetadata() async throws {
        try await withEmulator(InstanceMetadataEmulator.instance(region: "cn-northwest-1", domain: "AmazonAWS.com.cn")) { imds in
            let context = try await loader(imds.endpoint).load()
            #expect(context.dnsSuffix == "amazonaws.com.cn")
        }
    }

    @Test("with IMDS down, the failure lists region and VPC CIDR blocks with the keys that give them")
    func metadataDown() async throws {
        // A fresh metadata address on which nothing listens: connections are refused at once.
        let endpoint = "http://\(Loopback.metadataServer()):80"
        let failure = try #require(await failure(of: try loader(endpoint)))
        let values = failure.problems.map(\.value)
        #expect(values.contains("region"))
        #expect(values.contains("VPC CIDR blocks"))
        #expect(failure.problems.first { $0.value == "region" }?.key == "ECSVPCD_REGION")
        #expect(failure.problems.first { $0.value == "VPC CIDR blocks" }?.key == "ECSVPCD_VPC_CIDRS")
        #expect(failure.description.hasPrefix("cannot learn the instance context:"))
        #expect(failure.description.contains("set ECSVPCD_REGION in the configuration"))
        #expect(failure.description.contains("set ECSVPCD_VPC_CIDRS in the configuration"))
        #expect(failure.description.contains(endpoint), "the failure says which metadata address was tried")
    }

    @Test("region, suffix and VPC CIDRs from the settings need no instance metadata at all")
    func overridesNeedNoMetadata() async throws {
        var settings = Settings()
        settings.region = "eu-central-1"
        settings.dnsSuffix = "amazonaws.com"
        settings.vpcCIDRs = [CIDR("10.9.0.0/16")!]
        let context = try await InstanceContextLoader(settings: settings, metadata: nil).load()
        #expect(context == InstanceContext(
            instanceID: nil, region: "eu-central-1", dnsSuffix: "amazonaws.com", mac: nil, vpcCIDRs: [CIDR("10.9.0.0/16")!]))

        // Configured but down: still fine, the only missing value (the instance id) is optional.
        let down = try InstanceMetadataClient(endpoint: "http://\(Loopback.metadataServer()):80", requestTimeout: .milliseconds(300))
        settings.dnsSuffix = nil
        let withDeadMetadata = try await InstanceContextLoader(settings: settings, metadata: down).load()
        #expect(withDeadMetadata.region == "eu-central-1")
        #expect(withDeadMetadata.dnsSuffix == "amazonaws.com")
        #expect(withDeadMetadata.instanceID == nil)
    }

    @Test("without metadata and without the settings, the failure says metadata is not configured")
    func noMetadataNoSettings() async throws {
        let failure = try #require(await failure(of: InstanceContextLoader(settings: Settings(), metadata: nil)))
        #expect(failure.problems.map(\.value) == ["region", "VPC CIDR blocks"])
        #expect(failure.problems.allSatisfy { $0.detail == "instance metadata is not configured" })
    }

    @Test("malformed metadata values are failures that quote the bad value", arguments: [
        ("placement/region", "not a region", "ECSVPCD_REGION"),
        ("mac", "zz:zz:zz", "ECSVPCD_VPC_CIDRS"),
        ("network/interfaces/macs/0e:12:34:56:78:9a/vpc-ipv4-cidr-blocks", "10.0.0.0/16\ngarbage", "ECSVPCD_VPC_CIDRS"),
        ("network/interfaces/macs/0e:12:34:56:78:9a/vpc-ipv4-cidr-blocks", "10.0.0.1", "ECSVPCD_VPC_CIDRS"),
        ("services/domain", "amazonaws com", "ECSVPCD_DNS_SUFFIX"),
    ])
    func malformedValues(_ path: String, _ value: String, _ key: String) async throws {
        var values = InstanceMetadataEmulator.instance()
        values[path] = value
        try await withEmulator(values) { imds in
            let failure = try #require(await failure(of: try loader(imds.endpoint)))
            let problem = try #require(failure.problems.first { $0.key == key })
            let quoted = value.split(separator: "\n").last.map(String.init) ?? value
            #expect(problem.detail.contains("\"") && problem.detail.contains(quoted), "\(problem.detail)")
            #expect(failure.description.contains(quoted))
        }
    }

    @Test("a malformed instance id is not fatal: the id is optional")
    func malformedInstanceID() async throws {
        var values = InstanceMetadataEmulator.instance()
        values["instance-id"] = "not-an-instance"
        try await withEmulator(values) { imds in
            let context = try await loader(imds.endpoint).load()
            #expect(context.instanceID == nil)
            #expect(context.region == "us-east-1")
        }
    }
}
