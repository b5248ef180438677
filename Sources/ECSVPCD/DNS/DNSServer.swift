import ECSVPCCore

/// A nameserver address and port, as written in `ECSVPCD_DNS_SERVERS` or a `nameserver` line.
public struct DNSServer: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: Int

    public init(address: IPAddress, port: Int = 53) {
        self.address = address
        self.port = port
    }

    /// Parses `IP`, `IP:PORT`, `[v6]:PORT`, `[v6]` or a bare IPv6 address; a `%zone` suffix is dropped.
    public init?(_ text: String) {
        let text = text.trimmingASCIIWhitespace
        var host = Substring(text)
        var port = 53
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let value = Self.port(rest.dropFirst()) else { return nil }
                port = value
            }
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") {
            guard let value = Self.port(host[host.index(after: colon)...]) else { return nil }
            port = value
            host = host[..<colon]
        }
        if let percent = host.firstIndex(of: "%") { host = host[..<percent] }
        guard let address = IPAddress(host) else { return nil }
        self.init(address: address, port: port)
    }

    /// A comma- or space-separated list, as `ECSVPCD_DNS_SERVERS` gives it; nil if any entry is not a server.
    public static func list(_ text: String) -> [DNSServer]? {
        var servers: [DNSServer] = []
        for item in text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }) {
            guard let server = DNSServer(String(item)) else { return nil }
            servers.append(server)
        }
        return servers
    }

    /// `IP:PORT`, with IPv6 in brackets.
    public var description: String {
        address.isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    private static func port(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy(\.isASCII), let value = Int(text), (1...65535).contains(value)
        else { return nil }
        return value
    }
}

extension StringProtocol {
    var trimmingASCIIWhitespace: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        let text = Substring(self)
        guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return text[first...last]
    }
}
