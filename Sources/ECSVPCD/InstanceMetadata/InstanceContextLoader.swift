import ECSVPCCore
import FoundationEssentials
import Glibc

/// Learns the instance context from the configuration and, for whatever it does not set, instance metadata.
public struct InstanceContextLoader: Sendable {
    /// Values that could not be learned, with the keys that set them instead.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var problems: [(value: String, key: String?, detail: String)]
        public var description: String {
            "cannot learn the instance context:\n"
                + problems.map { problem in
                    "  - \(problem.value): \(problem.detail)"
                        + (problem.key.map { "; set \($0) in the configuration to give it instead" } ?? "")
                }.joined(separator: "\n")
        }
    }

    let settings: Settings
    let metadata: InstanceMetadataClient?

    public init(settings: Settings, metadata: InstanceMetadataClient?) {
        self.settings = settings
        self.metadata = metadata
    }

    public func load() async throws(Failure) -> InstanceContext {
        var problems: [(value: String, key: String?, detail: String)] = []
        let metadata = self.metadata
        // The values metadata must give are asked all at once (after one token), then the VPC blocks of the MAC.
        func ask(_ path: String, if needed: Bool) async -> Result<String, InstanceMetadataClient.Failure>? {
            guard needed, let metadata else { return nil }
            do { return .success(try await metadata.get(path)) } catch { return .failure(error) }
        }
        if let metadata, settings.region == nil || settings.vpcCIDRs == nil { await metadata.prime() }
        async let regionAnswer = ask("placement/region", if: settings.region == nil)
        async let idAnswer = ask("instance-id", if: true)
        async let domainAnswer = ask("services/domain", if: settings.dnsSuffix == nil)
        async let macAnswer = ask("mac", if: settings.vpcCIDRs == nil)

        // `absent` is what a 404 means for a path whose absence is an answer (a VPC without IPv6); other failures are problems.
        func value(
            _ answer: Result<String, InstanceMetadataClient.Failure>?, what: String, key: String?, ifNotFound absent: String? = nil
        ) -> String? {
            switch answer {
            case .success(let text): return text
            case .failure(let error) where error.notFound && absent != nil: return absent
            case .failure(let error):
                problems.append((what, key, error.description))
                return nil
            case nil:
                if metadata == nil { problems.append((what, key, "instance metadata is not configured")) }
                return nil
            }
        }

        var region = settings.region
        if region == nil, let text = value(await regionAnswer, what: "region", key: "ECSVPCD_REGION") {
            if EndpointNames.isPlausibleRegion(text) {
                region = text
            } else {
                problems.append(("region", "ECSVPCD_REGION", "placement/region returned \"\(text.prefix(64))\", not a region code"))
            }
        }

        // Needed only for the restart slot; without it the slot comes from the host name.
        var instanceID: String?
        if case .success(let text) = await idAnswer {
            if Self.isInstanceID(text) {
                instanceID = text
            } else {
                problems.append(("instance id", nil, "instance-id returned \"\(text.prefix(64))\", not an instance id"))
            }
        }

        var dnsSuffix = settings.dnsSuffix
        // Older metadata versions lack services/domain: then the partition tells.
        if dnsSuffix == nil, case .success(let text) = await domainAnswer {
            if Self.isDomain(text) {
                dnsSuffix = text.lowercased()
            } else {
                problems.append(("DNS suffix", "ECSVPCD_DNS_SUFFIX", "services/domain returned \"\(text.prefix(64))\", not a domain"))
            }
        }

        var mac: String?
        var vpcCIDRs = settings.vpcCIDRs
        if vpcCIDRs == nil {
            if let text = value(await macAnswer, what: "VPC CIDR blocks", key: "ECSVPCD_VPC_CIDRS") {
                if Self.isMAC(text) {
                    mac = text.lowercased()
                } else {
                    problems.append(("VPC CIDR blocks", "ECSVPCD_VPC_CIDRS", "mac returned \"\(text.prefix(64))\", not a MAC address"))
                }
            }
            if let mac {
                let base = "network/interfaces/macs/\(mac)/"
                async let v4Answer = ask(base + "vpc-ipv4-cidr-blocks", if: true)
                async let v6Answer = ask(base + "vpc-ipv6-cidr-blocks", if: true)
                let v4 = value(await v4Answer, what: "VPC CIDR blocks", key: "ECSVPCD_VPC_CIDRS")
                // Only a 404 says the VPC has no IPv6; a timeout, 500 or throttling must not make its addresses public.
                let v6 = value(await v6Answer, what: "VPC CIDR blocks", key: "ECSVPCD_VPC_CIDRS", ifNotFound: "")
                if let v4, let v6 {
                    switch Self.vpcBlocks(ipv4: v4, ipv6: v6) {
                    case .success(let blocks): vpcCIDRs = blocks
                    case .failure(let problem): problems.append(("VPC CIDR blocks", "ECSVPCD_VPC_CIDRS", problem.detail))
                    }
                }
            }
        }

        guard problems.isEmpty || (region != nil && vpcCIDRs != nil && !problems.contains { $0.key != nil }),
            let region, let vpcCIDRs
        else {
            throw Failure(problems: problems)
        }
        return InstanceContext(
            instanceID: instanceID,
            region: region,
            dnsSuffix: dnsSuffix ?? Partition(region: region).dnsSuffix,
            mac: mac,
            vpcCIDRs: vpcCIDRs
        )
    }

    /// What is wrong with metadata's VPC CIDR lists.
    struct BlocksProblem: Error {
        var detail: String
    }

    /// The VPC's CIDR blocks from metadata's `vpc-ipv4-cidr-blocks` and `vpc-ipv6-cidr-blocks` (one block a line),
    /// or the first line that is no CIDR block; no IPv4 block at all is a problem too.
    static func vpcBlocks(ipv4 v4: String, ipv6 v6: String) -> Result<[CIDR], BlocksProblem> {
        var blocks: [CIDR] = []
        for (source, text) in [("vpc-ipv4-cidr-blocks", v4), ("vpc-ipv6-cidr-blocks", v6)] {
            for line in text.split(whereSeparator: \.isNewline).map({ $0.trimmingWhitespace() }) where !line.isEmpty {
                guard line.contains("/"), let cidr = CIDR(line) else {
                    return .failure(BlocksProblem(detail: "\(source) returned \"\(line.prefix(80))\", not a CIDR block"))
                }
                blocks.append(cidr)
            }
        }
        return blocks.isEmpty ? .failure(BlocksProblem(detail: "vpc-ipv4-cidr-blocks returned nothing")) : .success(blocks)
    }

    static func isInstanceID(_ text: String) -> Bool {
        text.hasPrefix("i-") && text.count <= 32 && text.dropFirst(2).allSatisfy { $0.isASCII && $0.isHexDigit }
            && text.count > 2
    }

    static func isMAC(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count == 6 && parts.allSatisfy { $0.count == 2 && $0.allSatisfy(\.isHexDigit) }
    }

    static func isDomain(_ text: String) -> Bool {
        text.contains(".") && !text.contains("_") && EndpointNames.isPlausibleSuffix(text)
    }
}
