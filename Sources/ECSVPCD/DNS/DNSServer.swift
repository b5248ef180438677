import ECSVPCCore

/// A nameserver address and port, as written in `ECSVPCD_DNS_SERVERS` or a `nameserver` line: the core's
/// `HostPort`, with port 53 when none is given.
public typealias DNSServer = HostPort

extension HostPort {
    /// Parses `IP`, `IP:PORT`, `[v6]:PORT`, `[v6]` or a bare IPv6 address (port 53); a `%zone` suffix is dropped.
    public init?(_ text: String) {
        var host = text.trimmingASCIIWhitespace
        if let percent = host.firstIndex(of: "%") {
            let zoneEnd = host[percent...].firstIndex(of: "]") ?? host.endIndex
            host = Substring(String(host[..<percent]) + String(host[zoneEnd...]))
        }
        self.init(host, defaultPort: 53)
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
