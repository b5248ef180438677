/// Reads `KEY=VALUE` configuration text (the style of /etc/ecs/ecs.config) and the environment into `Settings`.
///
/// The environment wins over the file. Unknown keys, bad values and duplicate keys in the file are errors that
/// name the file, line, key and what was expected.
public enum SettingsParser {
    /// One configuration key: its name, what it expects, and how it sets its value.
    public struct Key: Sendable {
        public let name: String
        public let expected: String
        public let defaultText: String
        let apply: @Sendable (inout Settings, String) -> Bool
        /// Why a value `apply` refused is wrong, when "expected …" alone would not say it (a URL with a path).
        let problem: (@Sendable (String) -> String?)?
    }

    public static func parse(
        file: (path: String, text: String)?,
        environment: [String: String]
    ) throws(ConfigurationError) -> Settings {
        var problems = Problems(keepGoing: false)
        return try parse(file: file, environment: environment, problems: &problems)
    }

    /// As `parse`, but a line or variable in error is passed over instead of failing the whole: the settings hold
    /// the keys that parse and defaults for the rest, and every problem is returned. For the clients of a running
    /// daemon (`status`, `reprobe`, `restart-agent`): an admin's bad edit, which the daemon refused on reload and
    /// survived, must not keep them from reaching it. Never for `run`, `check` or `rollout`, which act on it.
    public static func parseKeepingGoodKeys(
        file: (path: String, text: String)?,
        environment: [String: String]
    ) -> (settings: Settings, problems: [ConfigurationError]) {
        var problems = Problems(keepGoing: true)
        do {
            let settings = try parse(file: file, environment: environment, problems: &problems)
            return (settings, problems.found)
        } catch {
            // Unreachable while keepGoing is true: every failure goes through `problems`.
            return (Settings(), problems.found + [error])
        }
    }

    /// Where a problem goes: thrown at once (`parse`), or kept while parsing goes on (`parseKeepingGoodKeys`).
    struct Problems {
        let keepGoing: Bool
        var found: [ConfigurationError] = []

        mutating func report(_ problem: ConfigurationError) throws(ConfigurationError) {
            guard keepGoing else { throw problem }
            found.append(problem)
        }
    }

    static func parse(
        file: (path: String, text: String)?,
        environment: [String: String],
        problems: inout Problems
    ) throws(ConfigurationError) -> Settings {
        var settings = Settings()
        var seen: [String: Int] = [:]
        var applied: Set<String> = []
        if let file {
            // Lines end in LF or CRLF: "\r\n" is one `Character` in Swift, so splitting on "\n" alone would not split
            // them. A leading byte order mark (Windows editors) is skipped.
            let text = file.text.first == "\u{FEFF}" ? file.text.dropFirst() : Substring(file.text)
            let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            for (index, rawLine) in lines.enumerated() {
                let lineNumber = index + 1
                let line = rawLine.trimmingWhitespace()
                if line.isEmpty || line.hasPrefix("#") { continue }
                guard let equals = line.firstIndex(of: "=") else {
                    try problems.report(ConfigurationError(
                        code: .syntax, source: file.path, line: lineNumber, key: nil,
                        detail: "expected KEY=VALUE, found \"\(line.prefix(60))\""
                    ))
                    continue
                }
                let name = line[..<equals].trimmingWhitespace()
                let value = unquote(line[line.index(after: equals)...].trimmingWhitespace())
                guard !name.isEmpty else {
                    try problems.report(ConfigurationError(
                        code: .syntax, source: file.path, line: lineNumber, key: nil,
                        detail: "the key before = is empty in \"\(line.prefix(60))\"; expected KEY=VALUE"
                    ))
                    continue
                }
                guard let key = keysByName[name] else {
                    try problems.report(ConfigurationError(
                        code: .unknownKey, source: file.path, line: lineNumber, key: name,
                        detail: "not a setting of ecsvpcd" + suggestion(for: name)
                    ))
                    continue
                }
                if let first = seen[name] {
                    try problems.report(ConfigurationError(
                        code: .duplicateKey, source: file.path, line: lineNumber, key: name,
                        detail: "already set on line \(first); keep one of the two lines"
                    ))
                    continue
                }
                seen[name] = lineNumber
                if environment[name] != nil { continue }
                if value.isEmpty { continue }
                guard key.apply(&settings, value) else {
                    try problems.report(badValue(key, value, source: file.path, line: lineNumber))
                    continue
                }
                applied.insert(name)
            }
        }
        for key in keys {
            guard let value = environment[key.name] else { continue }
            let trimmed = value.trimmingWhitespace()
            if trimmed.isEmpty { continue }
            guard key.apply(&settings, trimmed) else {
                try problems.report(badValue(key, trimmed, source: "environment", line: nil))
                continue
            }
            applied.insert(key.name)
        }
        do {
            try applyFallbackEnvironment(&settings, environment, unlessSet: applied)
        } catch {
            try problems.report(error)
        }
        return settings
    }

    /// The `ECSVPCD_` variables in the environment that are no setting of ecsvpcd, each with the key it most
    /// likely meant. Not errors: scripts and test harnesses export variables of their own with that prefix.
    public static func environmentWarnings(_ environment: [String: String]) -> [ConfigurationError] {
        // Only near misses of a key (a typo, a wrong case): scripts and test harnesses export ECSVPCD_ variables
        // of their own (ECSVPCD_TEST_RUN_DIR), which are far from every key and not ecsvpcd's business.
        environment.keys
            .filter { $0.uppercased().hasPrefix("ECSVPCD_") && keysByName[$0] == nil }
            .sorted()
            .compactMap { name in
                guard let near = nearestKey(to: name) else { return nil }
                return ConfigurationError(
                    code: .unknownKey, source: "environment", line: nil, key: name,
                    detail: "not a setting of ecsvpcd, so it is ignored; did you mean \(near)?"
                )
            }
    }

    private static func badValue(_ key: Key, _ value: String, source: String, line: Int?) -> ConfigurationError {
        let why = key.problem?(value).map { " (\($0))" } ?? ""
        return ConfigurationError(
            code: .badValue, source: source, line: line, key: key.name,
            detail: "\"\(value.prefix(80))\" is not valid\(why); expected \(key.expected)"
        )
    }

    /// Variables of other tools and of systemd that set defaults when the ECSVPCD_ key is not set (`applied`).
    ///
    /// `AWS_EC2_METADATA_SERVICE_ENDPOINT` is the instance metadata endpoint of every AWS SDK, so a value the HTTP
    /// client cannot use is an error; a `DOCKER_HOST` that is not a unix socket (`tcp://`) is skipped, as
    /// ecsvpcd only talks to the local Docker Engine.
    private static func applyFallbackEnvironment(
        _ settings: inout Settings,
        _ environment: [String: String],
        unlessSet applied: Set<String>
    ) throws(ConfigurationError) {
        if !applied.contains("ECSVPCD_DOCKER_HOST"), let docker = environment["DOCKER_HOST"],
            urlProblem(docker, scheme: "unix://") == nil
        {
            settings.dockerHost = docker
        }
        if !applied.contains("ECSVPCD_STATE_DIR"),
            let state = environment["STATE_DIRECTORY"]?.split(separator: ":").first, state.hasPrefix("/")
        {
            settings.stateDir = String(state)
        }
        if !applied.contains("ECSVPCD_RUNTIME_DIR"),
            let runtime = environment["RUNTIME_DIRECTORY"]?.split(separator: ":").first, runtime.hasPrefix("/")
        {
            settings.runtimeDir = String(runtime)
        }
        // Last, so that the fallbacks above are applied also when this one is in error.
        let imdsName = "AWS_EC2_METADATA_SERVICE_ENDPOINT"
        if !applied.contains("ECSVPCD_IMDS_ENDPOINT"), let endpoint = environment[imdsName]?.trimmingWhitespace(),
            !endpoint.isEmpty
        {
            if let problem = urlProblem(endpoint, scheme: "http://") {
                throw ConfigurationError(
                    code: .badValue, source: "environment", line: nil, key: imdsName,
                    detail: "\"\(endpoint.prefix(80))\" is not valid (\(problem)); expected an http:// URL such as "
                        + "http://169.254.169.254, or set ECSVPCD_IMDS_ENDPOINT to override it"
                )
            }
            settings.imdsEndpoint = endpoint
        }
    }

    public static let keys: [Key] = [
        key("ECSVPCD_REGION", "an AWS region code such as us-east-1", "instance metadata placement/region") {
            guard EndpointNames.isPlausibleRegion($1) else { return false }
            $0.region = $1
            return true
        },
        key("ECSVPCD_DNS_SUFFIX", "a DNS suffix such as amazonaws.com", "metadata services/domain, else by partition") {
            guard EndpointNames.isPlausibleSuffix($1) else { return false }
            $0.dnsSuffix = $1.lowercased()
            return true
        },
        key("ECSVPCD_VPC_CIDRS", "a comma list of CIDR blocks such as 10.0.0.0/16,2600:1f18::/56",
            "metadata VPC IPv4 and IPv6 CIDR blocks") {
            guard let list = cidrs($1) else { return false }
            $0.vpcCIDRs = list
            return true
        },
        key("ECSVPCD_ENDPOINT_CIDRS", "a comma list of CIDR blocks",
            "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,fc00::/7") {
            guard let list = cidrs($1) else { return false }
            $0.endpointCIDRs = list
            return true
        },
        key("ECSVPCD_EXTRA_NAMES", "a comma list of DNS names", "none") {
            let names = list($1)
            guard names.allSatisfy(isHostname) else { return false }
            $0.extraNames = names.map { $0.lowercased() }
            return true
        },
        key(
            "ECSVPCD_SERVICES",
            "auto, off, or a comma list of ecr.api, ecr.dkr, s3, logs, secretsmanager, ssm, ssmmessages, ec2messages "
                + "(with auto or without, such as auto,secretsmanager)",
            "auto"
        ) {
            guard let selection = ServiceSelection($1) else { return false }
            $0.services = selection
            return true
        },
        key("ECSVPCD_ECR_ACCOUNTS", "a comma list of 12-digit AWS account ids", "none (the task containers' images)") {
            let accounts = list($1)
            guard accounts.allSatisfy({ $0.count == 12 && $0.allSatisfy { $0.isASCII && $0.isNumber } }) else { return false }
            $0.ecrAccounts = accounts
            return true
        },
        key("ECSVPCD_IMDS_ENDPOINT", "an http:// URL such as http://169.254.169.254",
            "AWS_EC2_METADATA_SERVICE_ENDPOINT, else http://169.254.169.254",
            problem: { urlProblem($0, scheme: "http://") }) {
            guard urlProblem($1, scheme: "http://") == nil else { return false }
            $0.imdsEndpoint = $1
            return true
        },
        key("ECSVPCD_RESOLV_CONF", "an absolute path", "/etc/resolv.conf") {
            guard $1.hasPrefix("/") else { return false }
            $0.resolvConf = $1
            return true
        },
        key("ECSVPCD_HOSTS_FILE", "an absolute path, or off", "/etc/hosts") {
            if $1 == "off" {
                $0.hostsFile = nil
                return true
            }
            guard $1.hasPrefix("/") else { return false }
            $0.hostsFile = $1
            return true
        },
        key("ECSVPCD_DNS_SERVERS", "a comma list of IP[:PORT] such as 10.0.0.2,[fd00:ec2::253]:53",
            "the nameservers of the resolv.conf") {
            let servers = list($1).map { HostPort($0, defaultPort: 53) }
            guard !servers.isEmpty, servers.allSatisfy({ $0 != nil }) else { return false }
            $0.dnsServers = servers.compactMap { $0 }
            return true
        },
        key("ECSVPCD_AMAZON_DNS", "IP[:PORT] of the Amazon-provided resolver, or off", "169.254.169.253") {
            if $1 == "off" {
                $0.amazonDNS = nil
                return true
            }
            guard let server = HostPort($1, defaultPort: 53) else { return false }
            $0.amazonDNS = server
            return true
        },
        key("ECSVPCD_PROBE_PORT", "a TCP port from 1 to 65535", "443") {
            guard let port = Int($1), port > 0, port < 65536 else { return false }
            $0.probePort = port
            return true
        },
        key("ECSVPCD_PROBE_TIMEOUT", "a duration from 10ms to 60s such as 2s or 500ms", "2s") {
            guard let d = DurationText.parse($1), d >= .milliseconds(10), d <= .seconds(60) else { return false }
            $0.probeTimeout = d
            return true
        },
        key("ECSVPCD_INTERVAL", "a duration from 100ms to 1h such as 30s", "30s") {
            guard let d = DurationText.parse($1), d >= .milliseconds(100), d <= .seconds(3600) else { return false }
            $0.interval = d
            return true
        },
        key("ECSVPCD_STABLE_PROBES", "a whole number from 1 to 100", "3") {
            guard let n = Int($1), n >= 1, n <= 100 else { return false }
            $0.stableProbes = n
            return true
        },
        key("ECSVPCD_DOCKER_HOST", "unix:///path/to/docker.sock", "DOCKER_HOST, else unix:///var/run/docker.sock",
            problem: { urlProblem($0, scheme: "unix://") }) {
            guard urlProblem($1, scheme: "unix://") == nil else { return false }
            $0.dockerHost = $1
            return true
        },
        key("ECSVPCD_AGENT_CONTAINER", "a container name", "ecs-agent") {
            guard isContainerName($1) else { return false }
            $0.agentContainer = $1
            return true
        },
        key("ECSVPCD_AGENT_UNIT", "a systemd unit name such as ecs.service", "ecs.service") {
            guard $1.hasSuffix(".service"), $1.count > 8, !$1.contains("/"), !$1.contains(" ") else { return false }
            $0.agentUnit = $1
            return true
        },
        key("ECSVPCD_AGENT_INTROSPECTION", "an http:// URL such as http://127.0.0.1:51678", "http://127.0.0.1:51678",
            problem: { urlProblem($0, scheme: "http://") }) {
            guard urlProblem($1, scheme: "http://") == nil else { return false }
            $0.agentIntrospection = $1
            return true
        },
        key(
            "ECSVPCD_AGENT_CONFIG", "a comma list of absolute paths (.json ones read as the agent's ecs.config.json)",
            "/var/lib/ecs/ecs.config,/etc/ecs/ecs.config,/etc/ecs/ecs.config.json"
        ) {
            let paths = list($1)
            guard !paths.isEmpty, paths.allSatisfy({ $0.hasPrefix("/") }) else { return false }
            $0.agentConfig = paths
            return true
        },
        key("ECSVPCD_AGENT_LOG", "an absolute path, or off", "/var/log/ecs/ecs-agent.log") {
            if $1 == "off" {
                $0.agentLog = nil
                return true
            }
            guard $1.hasPrefix("/") else { return false }
            $0.agentLog = $1
            return true
        },
        key("ECSVPCD_RESTART", "auto, always or never", "auto") {
            guard let mode = RestartMode(rawValue: $1) else { return false }
            $0.restart = mode
            return true
        },
        key("ECSVPCD_RESTART_VIA", "auto, systemd or docker", "auto") {
            guard let via = RestartVia(rawValue: $1) else { return false }
            $0.restartVia = via
            return true
        },
        key("ECSVPCD_RESTART_WINDOW", "a duration up to 24h such as 10m (0 restarts at once)", "10m") {
            guard let d = DurationText.parse($1), d <= .seconds(86400) else { return false }
            $0.restartWindow = d
            return true
        },
        key("ECSVPCD_RESTART_COOLDOWN", "a duration up to 7d such as 1h", "1h") {
            guard let d = DurationText.parse($1), d <= .seconds(7 * 86400) else { return false }
            $0.restartCooldown = d
            return true
        },
        key("ECSVPCD_RESTART_BUDGET", "restarts per 24 hours, a whole number from 0 to 100", "3") {
            guard let n = Int($1), n >= 0, n <= 100 else { return false }
            $0.restartBudget = n
            return true
        },
        key("ECSVPCD_STATE_DIR", "an absolute path", "$STATE_DIRECTORY, else /var/lib/ecsvpcd") {
            guard $1.hasPrefix("/") else { return false }
            $0.stateDir = $1
            return true
        },
        key("ECSVPCD_RUNTIME_DIR", "an absolute path", "$RUNTIME_DIRECTORY, else /run/ecsvpcd") {
            guard $1.hasPrefix("/") else { return false }
            $0.runtimeDir = $1
            return true
        },
        key("ECSVPCD_STATUS_GROUP", "a group name", "adm") {
            guard isContainerName($1) else { return false }
            $0.statusGroup = $1
            return true
        },
        key("ECSVPCD_LOG", "auto, journal or stderr", "auto") {
            guard ["auto", "journal", "stderr"].contains($1) else { return false }
            $0.log = $1
            return true
        },
        key("ECSVPCD_SSM_INVENTORY", "auto, off, or an absolute path", "auto") {
            switch $1 {
            case "auto": $0.ssmInventory = .auto
            case "off": $0.ssmInventory = .off
            default:
                guard $1.hasPrefix("/") else { return false }
                $0.ssmInventory = .directory($1)
            }
            return true
        },
        key("ECSVPCD_METRICS_FILE", "an absolute path ending in .prom", "none") {
            guard $1.hasPrefix("/"), $1.hasSuffix(".prom"), !$1.hasSuffix("/.prom") else { return false }
            $0.metricsFile = $1
            return true
        },
    ]

    static let keysByName: [String: Key] = Dictionary(uniqueKeysWithValues: keys.map { ($0.name, $0) })

    private static func key(
        _ name: String,
        _ expected: String,
        _ defaultText: String,
        problem: (@Sendable (String) -> String?)? = nil,
        apply: @escaping @Sendable (inout Settings, String) -> Bool
    ) -> Key {
        Key(name: name, expected: expected, defaultText: defaultText, apply: apply, problem: problem)
    }

    private static func suggestion(for name: String) -> String {
        nearestKey(to: name).map { "; did you mean \($0)?" } ?? "; see the README for the list of keys"
    }

    /// The key a mistyped name most likely meant: the same in another case, one ending with the other, or a few
    /// edits away (one per three letters after `ECSVPCD_`, at most three). Nil when none is that close.
    private static func nearestKey(to name: String) -> String? {
        let upper = name.uppercased()
        if let match = keys.first(where: { $0.name == upper }) { return match.name }
        if let match = keys.first(where: { $0.name.hasSuffix(upper) || upper.hasSuffix($0.name) }) {
            return match.name
        }
        // Up to three edits, fewer for a short name: ECSVPCD_BIN is three edits from ECSVPCD_LOG, but no typo of it.
        let allowed = max(1, min(3, (upper.count - "ECSVPCD_".count) / 3))
        // A length difference over the allowance is already more edits: such keys are not measured (a long line of
        // garbage would otherwise cost a full distance against every key).
        let closest = keys.filter { abs($0.name.utf8.count - upper.utf8.count) <= allowed }
            .map { ($0.name, editDistance(upper, $0.name)) }.min { $0.1 < $1.1 }
        if let (name, distance) = closest, distance <= allowed { return name }
        return nil
    }

    /// Levenshtein distance, for "did you mean" on a mistyped key.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8)
        let b = Array(b.utf8)
        var previous = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(1, b.count) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }

    static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
    }

    private static func cidrs(_ text: String) -> [CIDR]? {
        let parts = list(text)
        let parsed = parts.compactMap { CIDR($0) }
        return parsed.count == parts.count && !parsed.isEmpty ? parsed : nil
    }

    /// Why `text` is not a URL of `scheme` (`http://`, `unix://`) that the HTTP client can use; nil when it is one.
    private static func urlProblem(_ text: String, scheme: String) -> String? {
        guard text.hasPrefix(scheme) else { return "it does not start with \(scheme)" }
        do throws(ServerURL.Problem) {
            _ = try ServerURL(parsing: text)
            return nil
        } catch {
            return error.reason
        }
    }

    static func isHostname(_ text: String) -> Bool {
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        return !text.isEmpty && text.count <= 253 && labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        }
    }

    private static func isContainerName(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 128
            && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
    }

    private static func unquote(_ text: String) -> String {
        if text.count >= 2, let first = text.first, let last = text.last, first == last, first == "\"" || first == "'" {
            return String(text.dropFirst().dropLast())
        }
        return text
    }
}

extension StringProtocol {
    public func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return String(slice)
    }
}

/// Durations as written in the configuration: `30s`, `10m`, `1h`, `500ms`, `1d`, or plain seconds.
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isNumber || $0.isLetter) }) else { return nil }
        for (suffix, milliseconds) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            guard let value = Int64(number), value >= 0, value <= 1_000_000 else { continue }
            return .milliseconds(value * milliseconds)
        }
        guard let seconds = Int64(text), seconds >= 0, seconds <= 100_000_000 else { return nil }
        return .seconds(seconds)
    }

    /// `90s`, `10m`, `1h30m`: short, for status lines.
    public static func format(_ duration: Duration) -> String {
        let total = duration.components.seconds
        if total < 1 { return "\(duration.components.attoseconds / 1_000_000_000_000_000)ms" }
        if total < 120 { return "\(total)s" }
        if total < 7200 { return total % 60 == 0 ? "\(total / 60)m" : "\(total / 60)m\(total % 60)s" }
        return total % 3600 == 0 ? "\(total / 3600)h" : "\(total / 3600)h\(total % 3600 / 60)m"
    }

    /// Seconds with a fixed number of decimals (`0.84`), for measured gaps in logs.
    public static func seconds(_ value: Double, decimals: Int) -> String {
        let scale = (0..<max(0, decimals)).reduce(1) { product, _ in product * 10 }
        let scaled = Int64((abs(value) * Double(scale)).rounded())
        let whole = scaled / Int64(scale)
        let fraction = String(scaled % Int64(scale))
        let padded = String(repeating: "0", count: max(0, decimals - fraction.count)) + fraction
        return (value < 0 ? "-" : "") + "\(whole)" + (decimals > 0 ? "." + padded : "")
    }
}
