import ECSVPCCore

/// A nameserver address and port, as written in `ECSVPCD_DNS_SERVERS` or a `nameserver` line: the core's
/// `HostPort`, with port 53 when none is given.
public typealias DNSServer = HostPort

extension HostPort {
    /// Parses `IP`, `IP:PORT`, `[v6]:PORT`, `[v6]` or a bare IPv6 address (port 53). A link-local address with a
    /// `%zone` is refused, as in `ECSVPCD_DNS_SERVERS`: the zone cannot reach the socket, and without it the
    /// connect fails.
    public init?(_ text: String) {
        self.init(text.trimmingWhitespace(), defaultPort: 53)
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
