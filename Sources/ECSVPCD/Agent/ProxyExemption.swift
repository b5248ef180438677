import ECSVPCCore
import FoundationEssentials
import Glibc

// Pure functions: how the agent's settings files read, and whether the agent sends ECS traffic to a proxy.

/// One `/etc/ecs/ecs.config`-style file, read the way ecs-init hands it to the agent's container (its
/// `loadEnvVariables`): lines split at LF, each trimmed of white space (so a CRLF end does no harm), split at the
/// first `=`, and name and value taken verbatim. So quotes stay part of the value, `export NAME=` names a variable
/// "export NAME", and a byte order mark becomes part of the first name: the agent sees exactly that, and so does
/// ecsvpcd. Such lines are also reported as problems, with what the agent gets instead.
public enum AgentConfigText {
    /// The variables the agent gets, in file order (a repeated name: the last wins when merged), and the lines
    /// that do not say what they seem to, as `line N: why`.
    public static func parse(_ text: String) -> (values: [(String, String)], problems: [String]) {
        var values: [(String, String)] = []
        var problems: [String] = []
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, raw) in lines.enumerated() {
            let line = raw.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                problems.append("line \(index + 1): expected NAME=VALUE (ecs-init skips this line)")
                continue
            }
            let name = String(line[..<equals])
            let value = String(line[line.index(after: equals)...])
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                let why =
                    name.hasPrefix("export ") ? "\"export\" is not understood: the agent gets no \(name.dropFirst(7))"
                    : name.hasPrefix("\u{FEFF}") ? "a byte order mark begins the file: the agent gets no \(name.dropFirst())"
                    : name.last?.isWhitespace == true ? "a space before \"=\": the agent gets no \(name.trimmingWhitespace())"
                    : "\"\(name)\" is not a variable name"
                problems.append("line \(index + 1): \(why)")
                continue
            }
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                problems.append("line \(index + 1): \(name)'s value is in quotes, which ecs-init passes on to the agent as part of it")
            }
            values.append((name, value))
        }
        return (values, problems)
    }

    /// Folds the files' values, in order, into the settings that matter here. Later files win; empty values
    /// count as unset; the upper-case name wins over the lower-case one, as in Go's `httpproxy.FromEnvironment`.
    public static func settings(from files: [(path: String, values: [(String, String)])]) -> AgentSettings {
        var merged: [String: String] = [:]
        for file in files {
            for (key, value) in file.values { merged[key] = value }
        }
        func any(_ names: String...) -> String? {
            names.lazy.compactMap { merged[$0] }.first { !$0.isEmpty }
        }
        return AgentSettings(
            httpsProxy: any("HTTPS_PROXY", "https_proxy"),
            httpProxy: any("HTTP_PROXY", "http_proxy"),
            noProxy: any("NO_PROXY", "no_proxy"),
            backendHost: any("ECS_BACKEND_HOST"),
            sources: files.map(\.path)
        )
    }
}

/// The proxy the agent sends `https://host:port` requests to, or nil when it connects directly.
///
/// The agent (ecs-agent/utils/httpproxy, a copy of Go's `golang.org/x/net/http/httpproxy`, re-read from the
/// environment on every request) takes `HTTPS_PROXY` for https URLs and, when that is unset, falls back to
/// `HTTP_PROXY`: so with only `HTTP_PROXY=…` in ecs.config (what the AWS guide shows) the ECS traffic goes to
/// the proxy too. `NO_PROXY` then exempts hosts; `localhost` and loopback literals are never proxied.
public func agentProxy(forHost host: String, port: Int = 443, settings: AgentSettings) -> String? {
    guard let proxy = settings.httpsProxy ?? settings.httpProxy, !proxy.isEmpty else { return nil }
    return NoProxyList(settings.noProxy ?? "").exempts(host: host, port: port) ? nil : proxy
}

/// Whether the agent's HTTPS requests to `host` (port 443) go through a proxy.
///
/// `resolvedAddresses` are deliberately not matched against IP or CIDR entries: Go compares those only with
/// a host that is itself an IP literal, so `NO_PROXY=10.0.0.0/8` does not exempt `ecs.us-east-1.amazonaws.com`
/// even when that name resolves to 10.0.1.5. They are accepted so callers can say what they know; a proxy
/// with such a list is the trap AWS documents, and the finding should say so.
public func proxyApplies(to host: String, resolvedAddresses: [IPAddress], settings: AgentSettings) -> Bool {
    agentProxy(forHost: host, port: 443, settings: settings) != nil
}

/// A `NO_PROXY` value with Go's `httpproxy` meaning: comma list; `*` exempts everything; `a.com` (or
/// `*.a.com`) exempts a.com and its subdomains, `.a.com` only the subdomains; IP addresses and CIDR prefixes
/// exempt IP-literal hosts; any entry may carry `:port` (IPv6 as `[::1]:443`). Malformed entries are ignored.
public struct NoProxyList: Sendable, Hashable {
    enum Entry: Sendable, Hashable {
        case all
        case prefix(CIDR)
        case address(IPAddress, port: String)
        case domain(suffix: String, port: String, matchesItself: Bool)
    }

    let entries: [Entry]

    public init(_ text: String) {
        var entries: [Entry] = []
        for item in text.split(separator: ",") {
            let entry = item.trimmingWhitespace().lowercased()
            if entry.isEmpty { continue }
            if entry == "*" {
                entries = [.all]
                break
            }
            if entry.contains("/") {
                if let cidr = CIDR(entry) { entries.append(.prefix(cidr)) }
                continue
            }
            var host = entry
            var port = ""
            if let (h, p) = Self.splitHostPort(entry) {
                guard !h.isEmpty else { continue }
                host = h
                port = p
            }
            if let address = IPAddress(host) {
                entries.append(.address(address.unmapped, port: port))
                continue
            }
            if host.hasPrefix("*.") { host.removeFirst() }
            if host.hasPrefix(".") {
                entries.append(.domain(suffix: host, port: port, matchesItself: false))
            } else {
                entries.append(.domain(suffix: "." + host, port: port, matchesItself: true))
            }
        }
        self.entries = entries
    }

    /// Whether a request to `host:port` goes direct.
    public func exempts(host rawHost: String, port: Int) -> Bool {
        var host = rawHost.trimmingWhitespace().lowercased()
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host == "localhost" { return true }
        let address = IPAddress(host)?.unmapped
        if let address, Self.isLoopback(address) { return true }
        let portText = String(port)
        for entry in entries {
            switch entry {
            case .all:
                return true
            case .prefix(let cidr):
                if let address, cidr.contains(address) { return true }
            case .address(let wanted, let wantedPort):
                if let address, address == wanted, wantedPort.isEmpty || wantedPort == portText { return true }
            case .domain(let suffix, let wantedPort, let matchesItself):
                if host.hasSuffix(suffix) || (matchesItself && host == suffix.dropFirst()) {
                    if wantedPort.isEmpty || wantedPort == portText { return true }
                }
            }
        }
        return false
    }

    private static func isLoopback(_ address: IPAddress) -> Bool {
        switch address {
        case .v4(let value): return value >> 24 == 127
        case .v6(let high, let low): return high == 0 && low == 1
        }
    }

    /// Go's `net.SplitHostPort`: `host:port` or `[v6]:port`; nil when there is no port part.
    private static func splitHostPort(_ text: String) -> (String, String)? {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let after = text[text.index(after: close)...]
            guard after.hasPrefix(":") else { return nil }
            return (String(text[text.index(after: text.startIndex)..<close]), String(after.dropFirst()))
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        return (String(parts[0]), String(parts[1]))
    }
}
