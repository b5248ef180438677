import ECSVPCCore
import FoundationEssentials
import Glibc

// Pure functions: how the agent's settings files read, and whether the agent sends ECS traffic to a proxy.

/// One `/etc/ecs/ecs.config`-style file, read the way ecs-init hands it to the agent's container (its
/// `loadEnvVariables`, ecs-init/docker/docker.go `getEnvVars`): lines split at LF, each trimmed of white space (so a
/// CRLF end does no harm), split at the first `=`, and name and value taken verbatim. So quotes stay part of the
/// value, `export NAME=` names a variable "export NAME", and a byte order mark becomes part of the first name: the
/// agent sees exactly that, and so does ecsvpcd. Such lines are also reported as problems, with what the agent gets
/// instead. `#` starts no comment for ecs-init: `#NAME=value` gives the agent a variable named "#NAME" (harmless,
/// so kept and not reported), and `NAME=value # note` gives NAME the whole "value # note" (reported).
public enum AgentConfigText {
    /// One variable the agent gets, with the line that sets it.
    public typealias Value = (name: String, value: String, line: Int)

    /// The variables the agent gets, in file order (a repeated name: the last wins when merged), and the lines
    /// that do not say what they seem to, as `line N: why`.
    public static func parse(_ text: String) -> (values: [Value], problems: [String]) {
        var values: [Value] = []
        var problems: [String] = []
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, raw) in lines.enumerated() {
            let line = raw.trimmingWhitespace()
            let number = index + 1
            if line.isEmpty { continue }
            guard let equals = line.firstIndex(of: "=") else {
                // ecs-init skips it; a `#` line without `=` is a comment in effect, nothing to say.
                if !line.hasPrefix("#") { problems.append("line \(number): expected NAME=VALUE (ecs-init skips this line)") }
                continue
            }
            let name = String(line[..<equals])
            let value = String(line[line.index(after: equals)...])
            if name.hasPrefix("#") {
                values.append((name, value, number))
                continue
            }
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                let why =
                    name.hasPrefix("export ") ? "\"export\" is not understood: the agent gets no \(name.dropFirst(7))"
                    : name.hasPrefix("\u{FEFF}") ? "a byte order mark begins the file: the agent gets no \(name.dropFirst())"
                    : name.last?.isWhitespace == true ? "a space before \"=\": the agent gets no \(name.trimmingWhitespace())"
                    : "\"\(name)\" is not a variable name"
                problems.append("line \(number): \(why)")
                continue
            }
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                problems.append("line \(number): \(name)'s value is in quotes, which ecs-init passes on to the agent as part of it")
            }
            if let comment = Self.trailingComment(value) {
                problems.append(
                    "line \(number): \(name)'s value ends in \"\(comment)\", which ecs-init passes on to the agent as "
                        + "part of it (# starts no comment there)"
                )
            }
            values.append((name, value, number))
        }
        return (values, problems)
    }

    /// `# …` after white space in a value: what an operator means as a comment and the agent gets as text.
    static func trailingComment(_ value: String) -> String? {
        var previous: Character?
        for index in value.indices {
            if value[index] == "#", let previous, previous.isWhitespace { return String(value[index...]) }
            previous = value[index]
        }
        return nil
    }

    /// Folds the files' values, in order, into the settings that matter here. Later files win; empty values
    /// count as unset; the upper-case name wins over the lower-case one, as in Go's `httpproxy.FromEnvironment`.
    public static func settings(from files: [(path: String, values: [Value])]) -> AgentSettings {
        resolve(files: files).settings
    }

    /// The settings from ecs.config files, the agent's ecs.config.json files and its user data, with the agent's
    /// API host decided in the agent's order of precedence (`AgentAPIHostRules`), and what in them breaks the
    /// agent's ECS client.
    public static func resolve(
        files: [(path: String, values: [Value])],
        json: [(path: String, config: AgentJSONConfig)] = [],
        userData: AgentJSONConfig? = nil
    ) -> (settings: AgentSettings, problems: [String]) {
        var merged: [String: (value: String, origin: AgentSettings.Origin)] = [:]
        for file in files {
            for (name, value, line) in file.values {
                merged[name] = (value, AgentSettings.Origin(setting: name, source: .ecsConfig, path: file.path, line: line))
            }
        }
        func any(_ names: String...) -> String? {
            names.lazy.compactMap { merged[$0]?.value }.first { !$0.isEmpty }
        }
        let environment = merged.compactMapValues { $0.value.isEmpty ? nil : $0 }
        let (apiHost, problems) = AgentAPIHostRules.resolve(environment: environment, json: json, userData: userData)
        let settings = AgentSettings(
            httpsProxy: any("HTTPS_PROXY", "https_proxy"),
            httpProxy: any("HTTP_PROXY", "http_proxy"),
            noProxy: any("NO_PROXY", "no_proxy"),
            backendHost: any("ECS_BACKEND_HOST"),
            apiHost: apiHost,
            sources: files.map(\.path) + json.map(\.path)
        )
        return (settings, problems)
    }
}

/// How the agent decides its ECS API host, read in aws/amazon-ecs-agent 1.105.1 (8dfceca):
/// - agent/config/config.go `NewConfig`: `APIEndpoint` comes from `ECS_BACKEND_HOST` (environment, i.e. ecs.config),
///   else the JSON file at `ECS_AGENT_CONFIG_FILE_PATH` (ecs-init sets /etc/ecs/ecs.config.json), else the user data's
///   `ECSAgentConfiguration`; the first non-empty value wins (`Merge`), and is trimmed afterwards (`trim` tag).
///   `AWSRegion` the same way from `AWS_DEFAULT_REGION`, `AWSRegion`, the user data, then instance metadata.
/// - ecs-agent/api/ecs/client/ecs_client.go `newECSConfig`: a non-empty APIEndpoint becomes the SDK's base endpoint
///   (`WithBaseEndpoint`, "https://" added when there is no scheme) and FIPS/dual-stack are left unset; otherwise
///   dual-stack is switched on only for an IPv6-only instance, and FIPS never (`WithFIPSDetected` is not used).
/// - aws-sdk-go-v2 (vendored): `service/ecs/endpoints.go` `resolveBaseEndpoint` and `internal/configsources`
///   `ResolveServiceBaseEndpoint` look at the load options first, so APIEndpoint wins over `AWS_ENDPOINT_URL_ECS`,
///   which wins over `AWS_ENDPOINT_URL`; `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` drops all three (the base endpoint
///   is reset in `config/resolve.go` `resolveBaseEndpoint`). `AWS_USE_FIPS_ENDPOINT` / `AWS_USE_DUALSTACK_ENDPOINT`
///   (`config/env_config.go`, "true"/"false" in any case, anything else an error) pick `ecs-fips.REGION.SUFFIX` /
///   `ecs.REGION.api.aws`; with a base endpoint as well, the endpoint rules refuse every call ("FIPS and custom
///   endpoint are not supported").
/// Not modelled: the SDK's shared config file inside the agent container (`endpoint_url`, `services`), and the
/// dual-stack switch of an IPv6-only instance (known only from the instance's addresses).
public enum AgentAPIHostRules {
    typealias Setting = (value: String, origin: AgentSettings.Origin)

    static func resolve(
        environment: [String: Setting],
        json: [(path: String, config: AgentJSONConfig)],
        userData: AgentJSONConfig?
    ) -> (AgentSettings.APIHost, [String]) {
        var problems: [String] = []
        func fromJSON(_ key: KeyPath<AgentJSONConfig, String?>, _ name: String) -> Setting? {
            for file in json.reversed() {
                if let value = file.config[keyPath: key], !value.isEmpty {
                    return (value, AgentSettings.Origin(setting: name, source: .ecsConfigJSON, path: file.path))
                }
            }
            if let value = userData?[keyPath: key], !value.isEmpty {
                return (value, AgentSettings.Origin(setting: name, source: .userData))
            }
            return nil
        }
        func flag(_ name: String) -> (on: Bool, origin: AgentSettings.Origin)? {
            guard let setting = environment[name] else { return nil }
            switch setting.value.lowercased() {
            case "true": return (true, setting.origin)
            case "false": return (false, setting.origin)
            default:
                problems.append(
                    "\(setting.origin): \"\(setting.value)\" is neither true nor false: the AWS SDK refuses it and "
                        + "the agent cannot create its ECS client"
                )
                return nil
            }
        }
        // A non-empty raw value wins the merge; the agent trims it afterwards, so blanks then count as unset.
        let apiEndpoint = (environment["ECS_BACKEND_HOST"] ?? fromJSON(\.apiEndpoint, "APIEndpoint"))
            .map { (value: $0.value.trimmingWhitespace(), origin: $0.origin) }
            .flatMap { $0.value.isEmpty ? nil : $0 }
        let region = (environment["AWS_DEFAULT_REGION"] ?? fromJSON(\.awsRegion, "AWSRegion"))
            .map { (value: $0.value.trimmingWhitespace(), origin: $0.origin) }
            .flatMap { $0.value.isEmpty ? nil : $0 }
        let ignoreURLs = flag("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        let fips = flag("AWS_USE_FIPS_ENDPOINT")
        let dualStack = flag("AWS_USE_DUALSTACK_ENDPOINT")

        var endpoint: Setting?
        if ignoreURLs?.on != true {
            endpoint = apiEndpoint ?? environment["AWS_ENDPOINT_URL_ECS"] ?? environment["AWS_ENDPOINT_URL"]
        }
        var host = AgentSettings.APIHost(region: region?.value)
        if let endpoint {
            host.endpoint = endpoint.value
            host.origins = [endpoint.origin]
            // The agent leaves FIPS and dual-stack unset only for its own APIEndpoint; the environment's switches
            // still reach the SDK, whose rules then refuse the custom endpoint.
            for (name, setting) in [("FIPS", fips), ("Dualstack", dualStack)] {
                if let setting, setting.on {
                    problems.append(
                        "\(setting.origin) with the endpoint \(endpoint.value) (\(endpoint.origin)): the AWS SDK refuses "
                            + "every ECS call (\"\(name) and custom endpoint are not supported\")"
                    )
                }
            }
        } else {
            host.fips = fips?.on ?? false
            host.dualStack = dualStack?.on ?? false
            host.origins = [region?.origin, fips.flatMap { $0.on ? $0.origin : nil }, dualStack.flatMap { $0.on ? $0.origin : nil }]
                .compactMap { $0 }
        }
        if let ignoreURLs, ignoreURLs.on, let dropped = apiEndpoint ?? environment["AWS_ENDPOINT_URL_ECS"] ?? environment["AWS_ENDPOINT_URL"] {
            problems.append("\(ignoreURLs.origin) makes the agent ignore \(dropped.origin) (\(dropped.value))")
        }
        return (host, problems)
    }
}

/// What the agent takes from a JSON config (`/etc/ecs/ecs.config.json`, or user data's `ECSAgentConfiguration`),
/// as far as it shapes the API host. Go's `encoding/json` matches keys without regard to case and the last
/// match wins; a value of the wrong type is an error, `null` leaves the field alone.
public struct AgentJSONConfig: Hashable, Sendable {
    public var apiEndpoint: String?
    public var awsRegion: String?

    public init(apiEndpoint: String? = nil, awsRegion: String? = nil) {
        self.apiEndpoint = apiEndpoint
        self.awsRegion = awsRegion
    }

    /// Why a JSON config cannot be used as the agent would.
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
    }

    /// The agent's ecs.config.json (agent/config/config.go `fileConfig`): empty or blank is no config; anything
    /// else must be a JSON object, or the agent fails to load its config and exits at start.
    public static func file(_ text: String) throws(Failure) -> AgentJSONConfig {
        if text.trimmingWhitespace().isEmpty { return AgentJSONConfig() }
        let value: JSONText.Value
        do {
            value = try JSONText.parse(text)
        } catch {
            throw Failure(description: "not JSON (\(error))")
        }
        switch value {
        case .object(let members): return try config(members, at: "")
        case .null: return AgentJSONConfig()
        default: throw Failure(description: "not a JSON object but \(value.kind)")
        }
    }

    /// The `ECSAgentConfiguration` of the instance's user data (agent/config/config.go `userDataConfig`): nil when
    /// the user data is not JSON (a shell script, a MIME multipart, gzip) or has no such key, which the agent
    /// passes over silently. A JSON user data whose configuration has a wrong type is dropped whole by the agent:
    /// that is the failure.
    public static func userData(_ text: String) throws(Failure) -> AgentJSONConfig? {
        guard case .object(let members) = try? JSONText.parse(text) else { return nil }
        var found: JSONText.Value?
        for (key, value) in members where key.lowercased() == "ecsagentconfiguration" { found = value }
        switch found {
        case nil, .null?: return nil
        case .object(let configuration)?: return try config(configuration, at: "ECSAgentConfiguration.")
        case let other?: throw Failure(description: "ECSAgentConfiguration is \(other.kind), not an object")
        }
    }

    private static func config(_ members: [(String, JSONText.Value)], at prefix: String) throws(Failure) -> AgentJSONConfig {
        var config = AgentJSONConfig()
        for (key, value) in members {
            let field: WritableKeyPath<AgentJSONConfig, String?>
            switch key.lowercased() {
            case "apiendpoint": field = \.apiEndpoint
            case "awsregion": field = \.awsRegion
            default: continue
            }
            switch value {
            case .string(let text): config[keyPath: field] = text
            case .null: continue
            default: throw Failure(description: "\(prefix)\(key) is \(value.kind), not a string")
            }
        }
        return config
    }
}

/// A strict JSON reader (RFC 8259, as Go's `encoding/json` accepts it) that keeps members in order and says where
/// a document goes wrong, as `line L, column C: what`.
enum JSONText {
    indirect enum Value: Sendable {
        case object([(String, Value)])
        case array([Value])
        case string(String)
        case number
        case bool
        case null

        var kind: String {
            switch self {
            case .object: "an object"
            case .array: "an array"
            case .string: "a string"
            case .number: "a number"
            case .bool: "a boolean"
            case .null: "null"
            }
        }
    }

    struct SyntaxError: Error, CustomStringConvertible {
        var line: Int
        var column: Int
        var what: String
        var description: String { "line \(line), column \(column): \(what)" }
    }

    static func parse(_ text: String) throws(SyntaxError) -> Value {
        var reader = Reader(bytes: Array(text.utf8))
        reader.skipSpace()
        let value = try reader.value(depth: 0)
        reader.skipSpace()
        guard reader.index == reader.bytes.count else { throw reader.error("unexpected text after the top-level value") }
        return value
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        func error(_ what: String) -> SyntaxError {
            let before = bytes[..<min(index, bytes.count)]
            let line = before.count(where: { $0 == UInt8(ascii: "\n") }) + 1
            let lineStart = before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
            let column = String(decoding: bytes[lineStart..<min(index, bytes.count)], as: UTF8.self).count + 1
            return SyntaxError(line: line, column: column, what: what)
        }

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func expect(_ literal: String) throws(SyntaxError) {
            for byte in literal.utf8 {
                guard index < bytes.count, bytes[index] == byte else { throw error("expected \(literal)") }
                index += 1
            }
        }

        mutating func value(depth: Int) throws(SyntaxError) -> Value {
            guard depth < 512 else { throw error("nested too deeply") }
            guard index < bytes.count else { throw error("unexpected end, expected a value") }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var members: [(String, Value)] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(members)
                }
                while true {
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                        throw error("expected a member name in double quotes")
                    }
                    let key = try string()
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
                    index += 1
                    skipSpace()
                    members.append((key, try value(depth: depth + 1)))
                    skipSpace()
                    guard index < bytes.count else { throw error("unexpected end, expected ',' or '}'") }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
                    throw error("expected ',' or '}'")
                }
            case UInt8(ascii: "["):
                index += 1
                var elements: [Value] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(elements)
                }
                while true {
                    skipSpace()
                    elements.append(try value(depth: depth + 1))
                    skipSpace()
                    guard index < bytes.count else { throw error("unexpected end, expected ',' or ']'") }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
                    throw error("expected ',' or ']'")
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"):
                try expect("true")
                return .bool
            case UInt8(ascii: "f"):
                try expect("false")
                return .bool
            case UInt8(ascii: "n"):
                try expect("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                try number()
                return .number
            default:
                throw error("expected a value")
            }
        }

        private mutating func digits() -> Int {
            let start = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return index - start
        }

        private mutating func number() throws(SyntaxError) {
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count else { throw error("expected a digit") }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else if digits() == 0 {
                throw error("expected a digit")
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { throw error("expected a digit after '.'") }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { throw error("expected a digit in the exponent") }
            }
        }

        private mutating func hex4() throws(SyntaxError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw error("expected four hex digits") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let digit = Character(Unicode.Scalar(bytes[index])).hexDigitValue else {
                    throw error("expected four hex digits")
                }
                value = value << 4 | UInt32(digit)
                index += 1
            }
            return value
        }

        /// A string at `index` (its opening quote); invalid UTF-8 and lone surrogates become U+FFFD, as in Go.
        private mutating func string() throws(SyntaxError) -> String {
            index += 1
            var scalars = String.UnicodeScalarView()
            var run: [UInt8] = []
            func flush() {
                scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars)
                run.removeAll()
            }
            while true {
                guard index < bytes.count else { throw error("unexpected end in a string") }
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    flush()
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    flush()
                    index += 1
                    guard index < bytes.count else { throw error("unexpected end in a string") }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalars.append(Unicode.Scalar(escape))
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        var code = try hex4()
                        if (0xD800..<0xDC00).contains(code), index + 1 < bytes.count,
                            bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                        {
                            let mark = index
                            index += 2
                            let low = try hex4()
                            if (0xDC00..<0xE000).contains(low) {
                                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                index = mark
                            }
                        }
                        scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                    default:
                        index -= 1
                        throw error("invalid escape in a string")
                    }
                case 0x00..<0x20:
                    throw error("control character in a string")
                default:
                    run.append(byte)
                    index += 1
                }
            }
        }
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
