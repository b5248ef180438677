import ECSVPCCore

/// A nameserver address and port, as written in `ECSVPCD_DNS_SERVERS` or a `nameserver` line: the core's
/// `HostPort`, with port 53 when none is given.
public typealias DNSServer = HostPort

extension HostPort {
    /// Parses `IP`, `IP:PORT`, `[v6]:PORT`, `[v6]` or a bare IPv6 address (port 53); a `%zone` suffix is dropped.
    public init?(_ text: String) {
        var host = text.trimmingWhitespace()
        if let percent = host.firstIndex(of: "%") {
            let zoneEnd = host[percent...].firstIndex(of: "]") ?? host.endIndex
            host = String(host[..<percent]) + String(host[zoneEnd...])
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
