/// A network prefix such as `10.0.0.0/8` or `fc00::/7`.
public struct CIDR: Hashable, Sendable, CustomStringConvertible, Codable {
    public let network: IPAddress
    public let prefixLength: Int

    /// Parses `ADDRESS/LENGTH`; a bare address is a host prefix (/32 or /128).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(parts[0]) else { return nil }
        let maxLength = address.isIPv6 ? 128 : 32
        var length = maxLength
        if parts.count == 2 {
            guard parts[1].count <= 3, parts[1].allSatisfy(\.isASCII), let value = Int(parts[1]), value >= 0,
                value <= maxLength
            else { return nil }
            length = value
        }
        self.init(network: address, prefixLength: length)
    }

    public init(network: IPAddress, prefixLength: Int) {
        self.prefixLength = prefixLength
        self.network = CIDR.mask(network, prefixLength)
    }

    public func contains(_ address: IPAddress) -> Bool {
        let candidate = address.unmapped
        switch (network, candidate) {
        case (.v4, .v4), (.v6, .v6):
            return CIDR.mask(candidate, prefixLength) == network
        default:
            return false
        }
    }

    public var description: String { "\(network)/\(prefixLength)" }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let cidr = CIDR(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a CIDR: \(text)"))
        }
        self = cidr
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    private static func mask(_ address: IPAddress, _ length: Int) -> IPAddress {
        switch address {
        case .v4(let v):
            let m: UInt32 = length == 0 ? 0 : ~UInt32(0) << UInt32(32 - length)
            return .v4(v & m)
        case .v6(let high, let low):
            let highMask: UInt64 = length == 0 ? 0 : (length >= 64 ? ~0 : ~UInt64(0) << UInt64(64 - length))
            let lowMask: UInt64 = length <= 64 ? 0 : (length == 128 ? ~0 : ~UInt64(0) << UInt64(128 - length))
            return .v6(high: high & highMask, low: low & lowMask)
        }
    }
}
