/// `IP`, `IP:PORT`, `[IPv6]:PORT` or a bare IPv6 address, as in `ECSVPCD_DNS_SERVERS`.
public struct HostPort: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: Int

    public init(address: IPAddress, port: Int) {
        self.address = address
        self.port = port
    }

    public init?(_ text: some StringProtocol, defaultPort: Int) {
        let text = String(text)
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), let address = IPAddress(text[text.index(after: text.startIndex)..<close])
            else { return nil }
            let rest = text[text.index(after: close)...]
            if rest.isEmpty {
                self.init(address: address, port: defaultPort)
                return
            }
            guard rest.hasPrefix(":"), let port = HostPort.port(rest.dropFirst()) else { return nil }
            self.init(address: address, port: port)
        } else if let address = IPAddress(text) {
            self.init(address: address, port: defaultPort)
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let address = IPAddress(parts[0]), !address.isIPv6, let port = HostPort.port(parts[1])
            else { return nil }
            self.init(address: address, port: port)
        }
    }

    public var description: String {
        address.isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    private static func port(_ text: some StringProtocol) -> Int? {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy(\.isASCII), let value = Int(text), value > 0, value < 65536
        else { return nil }
        return value
    }
}
