// Instance metadata values (Sources/ECSVPCD/InstanceMetadata/InstanceContextLoader.swift, and the address and
// name rules of ECSVPCCore it relies on). Input: a metadata value; the first byte picks which.
// Checks: CIDR lists read into blocks that print and read back the same; addresses round trip; a region and a
// domain that pass are names the resolver can ask for; a MAC and an instance id that pass have their shape.
import ECSVPCCore

func fuzzInstanceMetadata(_ bytes: [UInt8]) {
    guard let selector = bytes.first else { return }
    let text = String(decoding: bytes.dropFirst(), as: UTF8.self)
    switch selector % 4 {
    case 0:
        // vpc-ipv4-cidr-blocks and vpc-ipv6-cidr-blocks, split at the first NUL.
        let parts = text.split(separator: "\0", maxSplits: 1, omittingEmptySubsequences: false)
        let v4 = String(parts[0]), v6 = parts.count > 1 ? String(parts[1]) : ""
        switch InstanceContextLoader.vpcBlocks(ipv4: v4, ipv6: v6) {
        case .success(let blocks):
            precondition(!blocks.isEmpty, "no blocks, no problem")
            precondition(blocks.count <= (v4 + "\n" + v6).split(whereSeparator: \.isNewline).count, "more blocks than lines")
            for block in blocks {
                precondition(CIDR(block.description) == block, "\(block) does not read back")
                precondition(block.contains(block.network), "\(block) does not contain its own network")
            }
        case .failure(let problem):
            precondition(!problem.detail.isEmpty && problem.detail.count < 200, "a problem that says nothing, or too much")
        }
    case 1:
        // An address, as in a DNS answer or a CIDR block.
        if let address = IPAddress(text) {
            precondition(IPAddress(address.description) == address, "\(address) does not read back")
            // (An IPv4-mapped IPv6 address counts as its IPv4 address everywhere, so no IPv6 prefix contains it.)
            precondition(address.unmapped != address || CIDR(address.description).map { $0.contains(address) } == true,
                         "an address outside its own /32 or /128")
        }
        if let cidr = CIDR(text) { precondition(CIDR(cidr.description) == cidr, "\(cidr) does not read back") }
    case 2:
        // placement/region and services/domain: the names built from them must be names.
        let parts = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
        let region = String(parts[0]), domain = parts.count > 1 ? String(parts[1]) : "amazonaws.com"
        guard EndpointNames.isPlausibleRegion(region), InstanceContextLoader.isDomain(domain) else { return }
        for watched in EndpointNames.watched(region: region, dnsSuffix: domain.lowercased()) {
            precondition((try? DNSName(watched.name)) != nil, "region \(region) and domain \(domain) make \(watched.name), no DNS name")
        }
        _ = Partition(region: region).dnsSuffix
    default:
        if InstanceContextLoader.isMAC(text) {
            precondition(text.utf8.count == 17 && text.split(separator: ":").count == 6, "not a MAC: \(text)")
        }
        if InstanceContextLoader.isInstanceID(text) {
            precondition(text.hasPrefix("i-") && text.utf8.count <= 32, "not an instance id: \(text)")
        }
        if InstanceContextLoader.isDomain(text) {
            precondition(text.utf8.count <= 253, "a domain of \(text.utf8.count) bytes")
        }
    }
}
