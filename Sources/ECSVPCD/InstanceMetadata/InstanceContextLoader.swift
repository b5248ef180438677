import ECSVPCCore
import Foundation

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

        func fetch(_ path: String, what: String, key: String?) async -> String? {
            guard let metadata else {
                problems.append((what, key, "instance metadata is not configured"))
                return nil
            }
            do {
                return try await metadata.get(path)
            } catch {
                problems.append((what, key, error.description))
                return nil
            }
        }

        var region = settings.region
        if region == nil, let value = await fetch("placement/region", what: "region", key: "ECSVPCD_REGION") {
            if EndpointNames.isPlausibleRegion(value) {
                region = value
            } else {
                problems.append(("region", "ECSVPCD_REGION", "placement/region returned \"\(value.prefix(64))\", not a region code"))
            }
        }

        var instanceID: String?
        if metadata != nil {
            // Needed only for the restart slot; without it the slot comes from the host name.
            if let value = try? await metadata?.get("instance-id") {
                if Self.isInstanceID(value) {
                    instanceID = value
                } else {
                    problems.append(("instance id", nil, "instance-id returned \"\(value.prefix(64))\", not an instance id"))
                }
            }
        }

        var dnsSuffix = settings.dnsSuffix
        if dnsSuffix == nil, let metadata {
            do {
                let value = try await metadata.get("services/domain")
                if Self.isDomain(value) {
                    dnsSuffix = value.lowercased()
                } else {
                    problems.append(("DNS suffix", "ECSVPCD_DNS_SUFFIX", "services/domain returned \"\(value.prefix(64))\", not a domain"))
                }
            } catch {
                // Older metadata versions lack services/domain: the partition tells.
            }
        }

        var mac: String?
        var vpcCIDRs = settings.vpcCIDRs
        if vpcCIDRs == nil {
            if let value = await fetch("mac", what: "VPC CIDR blocks", key: "ECSVPCD_VPC_CIDRS") {
                if Self.isMAC(value) {
                    mac = value.lowercased()
                } else {
                    problems.append(("VPC CIDR blocks", "ECSVPCD_VPC_CIDRS", "mac returned \"\(value.prefix(64))\", not a MAC address"))
                }
            }
            if let mac {
                let base = "network/interfaces/macs/\(mac)/"
                if let v4 = await fetch(base + "vpc-ipv4-cidr-blocks", what: "VPC CIDR blocks", key: "ECSVPCD_VPC_CIDRS") {
                    var blocks: [CIDR] = []
                    var bad: [String] = []
                    var lines = v4.split(whereSeparator: \.isNewline).map(String.init)
                    if let metadata, let v6 = try? await metadata.get(base + "vpc-ipv6-cidr-blocks") {
                        lines += v6.split(whereSeparator: \.isNewline).map(String.init)
                    }
                    for line in lines.map({ $0.trimmingCharacters(in: .whitespaces) }) where !line.isEmpty {
                        if let cidr = CIDR(line), line.contains("/") { blocks.append(cidr) } else { bad.append(line) }
                    }
                    if !bad.isEmpty || blocks.isEmpty {
                        problems.append((
                            "VPC CIDR blocks", "ECSVPCD_VPC_CIDRS",
                            "vpc-ipv4-cidr-blocks returned \(bad.isEmpty ? "nothing" : "\"\(bad.joined(separator: " ").prefix(80))\", not CIDR blocks")"
                        ))
                    } else {
                        vpcCIDRs = blocks
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

    static func isInstanceID(_ text: String) -> Bool {
        text.hasPrefix("i-") && text.count <= 32 && text.dropFirst(2).allSatisfy { $0.isASCII && $0.isHexDigit }
            && text.count > 2
    }

    static func isMAC(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count == 6 && parts.allSatisfy { $0.count == 2 && $0.allSatisfy(\.isHexDigit) }
    }

    static func isDomain(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 253 && text.contains(".")
            && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }
    }
}
