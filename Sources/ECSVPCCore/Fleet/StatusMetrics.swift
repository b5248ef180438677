import FoundationEssentials

/// The status document as Prometheus metrics, in the text exposition format (0.0.4) that node_exporter's
/// textfile collector reads from `*.prom` files: every family with `# HELP` and `# TYPE`, no timestamps.
///
/// Label values are bounded: fixed words (states, routes, results, severities), the watched names, their
/// addresses, finding ids and the version; never a time or a message.
///
/// Written here rather than with swift-prometheus (2.4.1): its registry is for a process serving `/metrics`, and
/// keeps every series it was given until each is unregistered. A file that is a snapshot of one status document
/// would have to unregister every route, address and finding that went away, each cycle; and it would add
/// swift-metrics and swift-atomics to the daemon for a few hundred bytes of text. `promtool check metrics` checks
/// the output in the tests.
public struct StatusMetrics: Sendable {
    /// Restarts counted since the daemon started, from the restart history it reads every cycle.
    public var restarts = RestartCounter()
    public var cycleDurations = CycleDurationHistogram()

    public init() {}

    /// One cycle's figures: its document and how long it took.
    public mutating func observe(_ document: StatusDocument, cycleSeconds: Double) {
        cycleDurations.observe(cycleSeconds)
        if let history = document.restart?.history { restarts.count(history) }
    }

    /// The exposition text for the last observed document.
    public func render(_ document: StatusDocument, version: String) -> String {
        var text = ""
        text.reserveCapacity(4096)
        family(&text, "ecsvpcd_health", .gauge, "Health code of the last observation: 0 ok, 1 warning, 2 critical, 3 unknown.")
        sample(&text, "ecsvpcd_health", [], Double(document.health.exitCode))

        family(&text, "ecsvpcd_configuration", .gauge, "1 for the endpoint configuration verdict now, 0 for the others.")
        for state in [EndpointConfiguration.vpcEndpoints, .partial, .public, .unresolved] {
            sample(&text, "ecsvpcd_configuration", [("state", state.rawValue)], document.configuration == state ? 1 : 0)
        }

        family(&text, "ecsvpcd_endpoint_route", .gauge, "1 for each watched name's route now, 0 for its other routes.")
        var seenNames: Set<String> = []
        for endpoint in document.endpoints where seenNames.insert(endpoint.service.rawValue + " " + endpoint.name).inserted {
            for route in [EndpointRoute.vpcEndpoint, .public, .mixed, .unresolved] {
                sample(
                    &text, "ecsvpcd_endpoint_route",
                    [("service", endpoint.service.rawValue), ("name", endpoint.name), ("route", route.rawValue)],
                    endpoint.route == route ? 1 : 0
                )
            }
        }

        family(&text, "ecsvpcd_endpoint_tcp_open", .gauge, "1 when the address accepted TCP on the probe port, else 0.")
        var seenAddresses: Set<String> = []
        for endpoint in document.endpoints {
            for address in endpoint.addresses where address.tcp != nil {
                let labels = [("service", endpoint.service.rawValue), ("name", endpoint.name), ("address", address.address.description)]
                guard seenAddresses.insert(labels.map(\.1).joined(separator: " ")).inserted else { continue }
                sample(&text, "ecsvpcd_endpoint_tcp_open", labels, address.tcp == "open" ? 1 : 0)
            }
        }

        family(&text, "ecsvpcd_agent_on_endpoints", .gauge, "1 when the agent's ECS connections go through the endpoints, else 0.")
        sample(&text, "ecsvpcd_agent_on_endpoints", [], document.agent?.connections == "vpc-endpoint" ? 1 : 0)

        family(&text, "ecsvpcd_restarts_total", .counter, "Agent restarts by way and result, counted from the restart history since the daemon started.")
        for (key, value) in restarts.counts.sorted(by: { ($0.key.via, $0.key.result) < ($1.key.via, $1.key.result) }) {
            sample(&text, "ecsvpcd_restarts_total", [("via", key.via), ("result", key.result)], Double(value))
        }

        family(&text, "ecsvpcd_restart_budget_remaining", .gauge, "Restarts left in the last 24 hours' budget.")
        if let restart = document.restart {
            sample(&text, "ecsvpcd_restart_budget_remaining", [], Double(restart.budgetLeft))
        }

        family(&text, "ecsvpcd_cycle_duration_seconds", .histogram, "How long one observe, decide, act, record cycle took.")
        var cumulative = 0
        for (bound, count) in zip(CycleDurationHistogram.bounds, cycleDurations.bucketCounts) {
            cumulative += count
            sample(&text, "ecsvpcd_cycle_duration_seconds_bucket", [("le", bound.label)], Double(cumulative))
        }
        sample(&text, "ecsvpcd_cycle_duration_seconds_bucket", [("le", "+Inf")], Double(cycleDurations.count))
        sample(&text, "ecsvpcd_cycle_duration_seconds_sum", [], cycleDurations.sum)
        sample(&text, "ecsvpcd_cycle_duration_seconds_count", [], Double(cycleDurations.count))

        family(&text, "ecsvpcd_findings", .gauge, "Findings now, by id and severity (how many of each).")
        var findings: [String: Int] = [:]
        for finding in document.findings { findings[finding.id + "\n" + finding.severity.rawValue, default: 0] += 1 }
        for (key, count) in findings.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: "\n", omittingEmptySubsequences: false)
            sample(&text, "ecsvpcd_findings", [("id", String(parts[0])), ("severity", String(parts[1]))], Double(count))
        }

        family(&text, "ecsvpcd_build_info", .gauge, "Always 1; the version of ecsvpcd in its label.")
        sample(&text, "ecsvpcd_build_info", [("version", version)], 1)
        return text
    }

    enum Kind: String {
        case gauge, counter, histogram
    }

    private func family(_ text: inout String, _ name: String, _ kind: Kind, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(kind.rawValue)\n"
    }

    private func sample(_ text: inout String, _ name: String, _ labels: [(String, String)], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{"
            for (index, (label, value)) in labels.enumerated() {
                if index > 0 { text += "," }
                text += label + "=\"" + Self.escaped(value) + "\""
            }
            text += "}"
        }
        text += " " + Self.number(value) + "\n"
    }

    /// A label value as the exposition format wants it: backslash, double quote and line feed escaped.
    static func escaped(_ value: String) -> String {
        guard value.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return value }
        var result = ""
        for character in value {
            switch character {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "\n": result += "\\n"
            default: result.append(character)
            }
        }
        return result
    }

    /// Whole numbers without a fraction (`3`, not `3.0`), others as Swift prints a Double (Go's parser reads both).
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

/// Restarts by way and result, counted once each when their result is final (not `settling`), in the order of
/// the history. Starts from the history the daemon finds (the state file keeps the last day, at least 20), so a
/// daemon restart does not make the counter go back; a move the agent made by itself is no restart.
public struct RestartCounter: Hashable, Sendable {
    public struct Key: Hashable, Sendable {
        public var via: String
        public var result: String
    }

    public private(set) var counts: [Key: Int] = [:]
    /// The time of the last record counted: records up to it are not counted again.
    private var countedThrough: Date?

    /// Label values outside these (a hand-edited state file) are counted as `other`.
    static let vias: Set<String> = ["systemd", "docker"]
    static let results: Set<String> = ["verified", "lost-after-restart", "failed", "interrupted", "unverified"]

    public init() {}

    public mutating func count(_ history: [StatusDocument.RestartRecord]) {
        for record in history where record.result != StatusDocument.RestartRecord.movedByItself {
            if let countedThrough, record.at <= countedThrough { continue }
            // A restart in its settle time is counted once it settles; nothing after it is final yet.
            if record.result == StatusDocument.RestartRecord.settling { break }
            let key = Key(
                via: Self.vias.contains(record.via) ? record.via : "other",
                result: Self.results.contains(record.result) ? record.result : "other"
            )
            counts[key, default: 0] += 1
            countedThrough = record.at
        }
    }
}

/// Cycle durations in fixed buckets: a few integers, however long the daemon runs.
public struct CycleDurationHistogram: Hashable, Sendable {
    public struct Bound: Hashable, Sendable {
        public var seconds: Double
        public var label: String
    }

    /// From a quick cycle (loopback, 10 ms) to one that restarted and verified the agent (up to minutes).
    public static let bounds: [Bound] = [
        (0.01, "0.01"), (0.025, "0.025"), (0.05, "0.05"), (0.1, "0.1"), (0.25, "0.25"), (0.5, "0.5"), (1, "1"),
        (2.5, "2.5"), (5, "5"), (10, "10"), (30, "30"), (60, "60"), (180, "180"),
    ].map { Bound(seconds: $0.0, label: $0.1) }

    /// Observations per bucket (not cumulative), in the order of `bounds`; slower ones only in `count`.
    public private(set) var bucketCounts = [Int](repeating: 0, count: bounds.count)
    public private(set) var count = 0
    public private(set) var sum = 0.0

    public init() {}

    public mutating func observe(_ seconds: Double) {
        count += 1
        sum += seconds
        if let index = Self.bounds.firstIndex(where: { seconds <= $0.seconds }) { bucketCounts[index] += 1 }
    }
}
