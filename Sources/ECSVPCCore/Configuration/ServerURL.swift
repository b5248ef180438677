/// Where a server ecsvpcd talks to listens: `http://HOST[:PORT]` (`tcp://` too, as in `DOCKER_HOST`) or
/// `unix:///PATH`.
///
/// The one grammar of both the settings check and the HTTP client (`HTTPTarget`), so a URL the configuration
/// accepts is always one the client can use.
public enum ServerURL: Hashable, Sendable {
    case tcp(host: String, port: Int)
    case unix(path: String)

    /// Why a text is not a usable URL, said so that the value can be fixed.
    public struct Problem: Error, Hashable, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// Parses `http://HOST[:PORT]` and `tcp://HOST[:PORT]` (default port 80; HOST a name, an IPv4 address or an
    /// IPv6 address in brackets, `[::1]:80`) and `unix:///PATH`. A trailing `/` is allowed; any other path, a
    /// query, a user or another scheme is not.
    public init(parsing text: String) throws(Problem) {
        func bad(_ reason: String) -> Problem { Problem(reason: reason) }
        if text.hasPrefix("unix://") {
            let path = text.dropFirst("unix://".count)
            guard path.hasPrefix("/") else { throw bad("the socket path after unix:// is not absolute") }
            guard path.count > 1 else { throw bad("no socket path after unix://") }
            self = .unix(path: String(path))
            return
        }
        var rest: Substring
        if text.hasPrefix("http://") {
            rest = text.dropFirst("http://".count)
        } else if text.hasPrefix("tcp://") {
            rest = text.dropFirst("tcp://".count)
        } else {
            throw bad("expected http://HOST[:PORT] or unix:///PATH")
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains(where: { "/?#@".contains($0) }) else {
            throw bad("only a host and port are expected, no path, query or user")
        }
        let host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw bad("unclosed [ in IPv6 host") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            guard let address = IPAddress(host), address.isIPv6 else {
                throw bad("\"\(host.prefix(60))\" in brackets is not an IPv6 address")
            }
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw bad("unexpected text after ]") }
                portText = after.dropFirst()
            }
        } else {
            let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw bad("IPv6 hosts need brackets, e.g. http://[::1]:80") }
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
            guard !host.isEmpty else { throw bad("no host") }
            guard SettingsParser.isHostname(String(host)) else {
                throw bad("\"\(host.prefix(60))\" is not a host name or an IP address")
            }
        }
        var port = 80
        if let portText {
            guard portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(portText),
                (1...65535).contains(value)
            else {
                throw bad("port \"\(portText.prefix(20))\" is not 1-65535")
            }
            port = value
        }
        self = .tcp(host: String(host), port: port)
    }
}
