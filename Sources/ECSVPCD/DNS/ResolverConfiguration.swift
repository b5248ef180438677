import ECSVPCCore
import FoundationEssentials
import Glibc

/// What the agent's resolver (glibc) would use: the hosts file, the nameservers and `options` of resolv.conf.
public struct ResolverConfiguration: Sendable, Hashable {
    /// Tried in order (or round-robin with `rotate`). Empty means glibc's fallback, 127.0.0.1:53.
    public var servers: [DNSServer]
    /// How long one try waits for one server (`options timeout:N`, glibc default 5 s, at most 30 s).
    public var timeout: Duration
    /// How many rounds over all servers (`options attempts:N`, glibc default 2, at most 5).
    public var attempts: Int
    /// `options rotate`: each lookup starts at the next server.
    public var rotate: Bool
    /// The hosts file consulted first, re-read on every lookup; nil skips it.
    public var hostsFile: String?
    /// What in resolv.conf could not be followed, one line each, e.g. a skipped link-local nameserver.
    public var problems: [String] = []
    /// Link-local nameservers (`fe80::1%eth0`) skipped because their scope cannot reach the socket: asked (and
    /// failing, naming them) only when resolv.conf names no other nameserver, instead of glibc's 127.0.0.1.
    var scopedServers: [DNSServer] = []

    /// glibc reads at most three `nameserver` lines (MAXNS).
    public static let maxServers = 3
    public static let defaultTimeout = Duration.seconds(5)
    public static let defaultAttempts = 2
    /// glibc's fallback when resolv.conf names no nameserver.
    public static let fallbackServer = DNSServer(address: .v4(0x7f00_0001), port: 53)

    public init(
        servers: [DNSServer],
        timeout: Duration = Self.defaultTimeout,
        attempts: Int = Self.defaultAttempts,
        rotate: Bool = false,
        hostsFile: String? = nil
    ) {
        self.servers = servers
        self.timeout = timeout
        self.attempts = attempts
        self.rotate = rotate
        self.hostsFile = hostsFile
    }

    /// Reads resolv.conf text with glibc's rules: `nameserver` lines (first three valid ones), and
    /// `options timeout:N attempts:N rotate`; the last word wins, unknown words and bad values are ignored.
    public static func parse(resolvConf text: String) -> ResolverConfiguration {
        var configuration = ResolverConfiguration(servers: [])
        var scoped: [String] = []
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = rawLine.trimmingWhitespace()
            guard let first = line.first, first != "#", first != ";" else { continue }
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let keyword = words.first else { continue }
            switch keyword {
            case "nameserver":
                guard words.count >= 2, configuration.servers.count + configuration.scopedServers.count < maxServers,
                    let server = nameserver(words[1])
                else { continue }
                if words[1].contains("%") {
                    configuration.scopedServers.append(server)
                    scoped.append(String(words[1]))
                } else {
                    configuration.servers.append(server)
                }
            case "options":
                for option in words.dropFirst() { configuration.apply(option: option) }
            default:
                continue
            }
        }
        let outcome =
            configuration.servers.isEmpty ? "not supported, and no other nameserver to ask" : "not supported, skipped"
        configuration.problems = scoped.map { "link-local nameserver \($0): \(outcome)" }
        return configuration
    }

    /// The servers lookups actually use: the configured ones, or glibc's fallback when resolv.conf names none.
    public var effectiveServers: [DNSServer] {
        if !servers.isEmpty { return servers }
        return scopedServers.isEmpty ? [Self.fallbackServer] : scopedServers
    }

    private mutating func apply(option: Substring) {
        func value(_ prefix: String) -> Int? {
            guard option.hasPrefix(prefix) else { return nil }
            let digits = option.dropFirst(prefix.count)
            guard !digits.isEmpty, digits.count <= 4, digits.allSatisfy(\.isASCII) else { return nil }
            return Int(digits)
        }
        if let seconds = value("timeout:") {
            timeout = .seconds(min(max(seconds, 1), 30))
        } else if let count = value("attempts:") {
            attempts = min(max(count, 1), 5)
        } else if option == "rotate" {
            rotate = true
        }
    }

    /// A `nameserver` value: an address only (glibc takes no port there), IPv6 maybe with `%zone` (dropped here).
    private static func nameserver(_ text: Substring) -> DNSServer? {
        var host = text
        if let percent = host.firstIndex(of: "%") { host = host[..<percent] }
        guard let address = IPAddress(host) else { return nil }
        return DNSServer(address: address, port: 53)
    }
}
