import ECSVPCCore
import Logging
import Synchronization

/// resolv.conf as the agent's resolver sees it now. Go's resolver follows a resolv.conf rewritten by dhclient,
/// NetworkManager or systemd-resolved (a new DHCP options set), so this one does too, without a SIGHUP: the file
/// is read again on every lookup and parsed again only when its text changed.
///
/// A missing or unreadable file, or one without a `nameserver` line, gives glibc's defaults and its fallback
/// server 127.0.0.1, at start-up as later; a change of nameservers is logged once, with what is wrong if anything.
public final class ResolvConfFile: Sendable {
    public let path: String
    /// `ECSVPCD_DNS_SERVERS`: these replace the file's nameservers whatever it says; its options still apply.
    public let servers: [DNSServer]?
    public let hostsFile: String?
    private let logger: Logger
    private let last: Mutex<Snapshot>

    /// The text last read (nil: it could not be read) and the configuration parsed from it.
    private struct Snapshot {
        var text: String?
        var configuration: ResolverConfiguration
    }

    /// Reads the file once now, silently, as start-up always has.
    public init(path: String, hostsFile: String?, servers: [DNSServer]? = nil, logger: Logger) {
        self.path = path
        self.servers = servers
        self.hostsFile = hostsFile
        self.logger = logger
        let text = try? SystemFile.readText(path)
        let configuration = Self.configuration(text, servers: servers, hostsFile: hostsFile)
        last = Mutex(Snapshot(text: text, configuration: configuration))
        // Said at start-up too: a nameserver ecsvpcd cannot ask the way the agent does.
        for problem in configuration.problems { logger.warning("\(path): \(problem)", metadata: ["path": "\(path)"]) }
    }

    /// The configuration for the next lookup: the one parsed before while the file's text is the same.
    public func current() -> ResolverConfiguration {
        let (configuration, change) = last.withLock { last -> (ResolverConfiguration, String?) in
            // Read under the lock, so that two lookups racing a rewrite cannot store the older text last.
            let text: String?
            let unreadable: SystemFileError?
            do throws(SystemFileError) {
                text = try SystemFile.readText(path)
                unreadable = nil
            } catch {
                text = nil
                unreadable = error
            }
            guard text != last.text else { return (last.configuration, nil) }
            let fresh = Self.configuration(text, servers: servers, hostsFile: hostsFile)
            let change = describeChange(from: last.configuration, to: fresh, unreadable: unreadable)
            last = Snapshot(text: text, configuration: fresh)
            return (fresh, change)
        }
        if let change {
            if configuration.servers.isEmpty {
                logger.warning("\(change)", metadata: ["path": "\(path)"])
            } else {
                logger.notice("\(change)", metadata: ["path": "\(path)"])
            }
        }
        return configuration
    }

    /// The text parsed (none: glibc's defaults), then the explicit servers and the hosts file applied.
    private static func configuration(_ text: String?, servers: [DNSServer]?, hostsFile: String?)
        -> ResolverConfiguration
    {
        var configuration = ResolverConfiguration.parse(resolvConf: text ?? "")
        if let servers {
            configuration.servers = servers
            configuration.scopedServers = []
            configuration.problems = []
        }
        configuration.hostsFile = hostsFile
        return configuration
    }

    /// The line to log when the nameservers asked changed, nil when they did not (options alone, or explicit servers).
    private func describeChange(
        from old: ResolverConfiguration, to new: ResolverConfiguration, unreadable: SystemFileError?
    ) -> String? {
        guard servers == nil, old.effectiveServers != new.effectiveServers else { return nil }
        let list = { (servers: [DNSServer]) in servers.map(\.description).joined(separator: ", ") }
        let line = "resolv.conf changed: nameservers \(list(new.effectiveServers)) (were \(list(old.effectiveServers)))"
        if let unreadable {
            return "\(line); cannot read \(unreadable), so glibc's defaults and its fallback server are used"
        }
        if !new.problems.isEmpty {
            return "\(line); " + new.problems.joined(separator: "; ")
        }
        if new.servers.isEmpty {
            return "\(line); \(path) names no nameserver, so glibc's fallback server is asked"
        }
        return line
    }
}
