import ECSVPCCore
import FoundationEssentials
import Glibc

/// Renders a status document as the compact table a person reads on a terminal.
public struct StatusTable: Sendable {
    public var color: Bool
    public var probePort: Int
    /// Where the configuration file this command read is in error (`ecsvpcd status` after a bad edit): one line
    /// under the configuration, the details being on stderr.
    public var configurationFileProblem: String?

    public init(color: Bool, probePort: Int) {
        self.color = color
        self.probePort = probePort
    }

    /// Colour only on a terminal, and never with `NO_COLOR` set (https://no-color.org).
    public static func wantsColor(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        isatty(STDOUT_FILENO) == 1 && environment["NO_COLOR"].map(\.isEmpty) ?? true && environment["TERM"] != "dumb"
    }

    public func render(_ document: StatusDocument, now: Date = Date()) -> String {
        var lines: [String] = []
        lines.append("\(paint(document.health.rawValue.uppercased(), for: document.health))  \(document.summary)")
        let instance = document.instance
        let vpc = instance.vpcCIDRs.isEmpty ? "(unknown)" : instance.vpcCIDRs.map(\.description).joined(separator: ",")
        lines.append(
            "instance \(instance.id ?? "(id unknown)")  region \(instance.region.isEmpty ? "(unknown)" : instance.region)  VPC "
                + vpc
        )
        var configuration = "configuration \(document.configuration.rawValue)"
        if let since = document.configurationSince { configuration += " since \(Self.ago(since, now: now))" }
        lines.append(configuration)
        if let problem = configurationFileProblem {
            lines.append(paint("config file \(problem)", for: .warning))
        }
        lines.append("")
        let header = ["NAME", "ROUTE", "ADDRESS", "CLASS", "TCP \(probePort)"]
        var rows: [[String]] = []
        for endpoint in document.endpoints {
            let route = endpoint.route.rawValue + (endpoint.placement.map { " (\($0.rawValue))" } ?? "")
            if endpoint.addresses.isEmpty {
                rows.append([endpoint.name, route, endpoint.resolution.outcome.uppercased(), "-", "-"])
            }
            for (index, address) in endpoint.addresses.enumerated() {
                var tcp = address.tcp ?? "-"
                if let ms = address.connectMilliseconds { tcp += " " + Self.oneDecimal(ms) + "ms" }
                rows.append([
                    index == 0 ? endpoint.name : "", index == 0 ? route : "", address.address.description,
                    address.class.rawValue, tcp,
                ])
            }
        }
        lines += table(header: header, rows: rows)
        lines += servicesSection(document)
        if let agent = document.agent {
            lines.append("")
            let absent = document.findings.contains { $0.id == "agent-absent" }
            var line = "agent " + (agent.running ? "running" : absent ? "absent" : "NOT running")
            if let version = agent.version { line += ", \(version)" }
            if let started = agent.started { line += ", started \(Self.ago(started, now: now))" }
            lines.append(line)
            var connections = "  connections \(agent.connections)"
            if !agent.remoteAddresses.isEmpty {
                connections += " (" + agent.remoteAddresses.map(\.description).joined(separator: ", ") + ")"
            }
            if let detail = agent.connectionsDetail { connections += ": \(detail)" }
            lines.append(connections)
            if let supervisor = agent.supervisor {
                lines.append("  restarts via \(supervisor)" + (agent.supervisorDetail.map { " (\($0))" } ?? ""))
            }
            if let proxy = agent.proxy { lines.append("  proxy \(proxy)") }
            if let cells = agent.cells, !cells.isEmpty {
                lines.append("  cell hosts it dials (\(agent.cellsDetail ?? "from its log")):")
                var cellRows: [[String]] = []
                for cell in cells {
                    let redial = cell.plannedRedial.map { "redials \(Self.until($0, now: now))" } ?? ""
                    if cell.addresses.isEmpty { cellRows.append(["    " + cell.host, cell.route.rawValue, "-", "-", "-", redial]) }
                    for (index, address) in cell.addresses.enumerated() {
                        cellRows.append([
                            index == 0 ? "    " + cell.host : "", index == 0 ? cell.route.rawValue : "",
                            address.address.description, address.class.rawValue, address.tcp ?? "-", index == 0 ? redial : "",
                        ])
                    }
                }
                lines += table(header: ["    HOST", "ROUTE", "ADDRESS", "CLASS", "TCP \(probePort)", ""], rows: cellRows)
            } else if let detail = agent.cellsDetail {
                lines.append("  cell hosts unknown (\(detail)): judged by its connections and start time")
            }
            if let move = agent.ownMove {
                switch move.because {
                case .cellHostsPrivate:
                    lines.append("  moves by itself by about \(move.expectedBy.map { Self.clock($0) } ?? "?"): its cell hosts already resolve to the endpoint")
                case .cacheExpiry:
                    lines.append("  moves by itself by about \(move.expectedBy.map { Self.clock($0) } ?? "?"): when its cached poll endpoint (12 h) expires")
                case .unknown:
                    lines.append("  own move: unknown (its cell hosts are not known)")
                }
            }
        }
        if let restart = document.restart {
            lines.append("")
            var line = "restart \(restart.state): \(restart.reason)"
            if let notBefore = restart.notBefore { line += " (at \(Self.clock(notBefore)), \(Self.until(notBefore, now: now)))" }
            lines.append(line)
            lines.append("  budget left \(restart.budgetLeft) in 24h")
            if let last = restart.history.last {
                let what = last.result == StatusDocument.RestartRecord.movedByItself ? "last move" : "last restart"
                let gap = last.gapSeconds.map { ", gap \(DurationText.seconds($0, decimals: 2)) s" } ?? ""
                lines.append(
                    "  \(what) \(Self.ago(last.at, now: now)) via \(last.via): \(last.result)\(gap)"
                        + (last.detail.map { " (\($0))" } ?? "")
                )
            }
        }
        if !document.findings.isEmpty {
            lines.append("")
            lines.append("findings:")
            for finding in document.findings.sorted(by: { $0.severity > $1.severity }) {
                let label = paint(finding.severity.rawValue.uppercased(), for: finding.severity.health)
                lines.append("  \(label) [\(finding.id)] \(finding.message)")
                lines.append("      → \(finding.hint)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The related endpoints' table and the readiness verdict for a subnet without internet access.
    private func servicesSection(_ document: StatusDocument) -> [String] {
        guard let services = document.services, let readiness = document.readiness else { return [] }
        var lines = [""]
        let health: Health = switch readiness {
        case .ready: .ok
        case .notReady: .warning
        case .unknown: .unknown
        }
        lines.append(
            "readiness \(paint(readiness.rawValue, for: health))"
                + (document.readinessDetail.map { " (\($0))" } ?? "")
        )
        var rows: [[String]] = []
        for service in services {
            let needed = service.neededBy.map(\.rawValue).joined(separator: ",")
            let first = [service.service.rawValue, service.name, service.route.rawValue]
            if service.addresses.isEmpty {
                rows.append(first + [service.resolution.outcome.uppercased(), "-", "-", needed])
            }
            for (index, address) in service.addresses.enumerated() {
                var tcp = address.tcp ?? "-"
                if let ms = address.connectMilliseconds { tcp += " " + Self.oneDecimal(ms) + "ms" }
                rows.append(
                    (index == 0 ? first : ["", "", ""])
                        + [address.address.description, address.class.rawValue, tcp, index == 0 ? needed : ""]
                )
            }
        }
        if !rows.isEmpty {
            lines += table(header: ["SERVICE", "NAME", "ROUTE", "ADDRESS", "CLASS", "TCP \(probePort)", "NEEDED BY"], rows: rows)
        }
        for note in document.servicesNotes ?? [] { lines.append("  note: \(note)") }
        return lines
    }

    private func table(header: [String], rows: [[String]]) -> [String] {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: max(0, widths[column] - cell.count))
            }.joined(separator: "  ")
        }
    }

    private func paint(_ text: String, for health: Health) -> String {
        guard color else { return text }
        let code = switch health {
        case .ok: "32"
        case .warning: "33"
        case .critical: "31;1"
        case .unknown: "35"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }

    static func ago(_ date: Date, now: Date) -> String {
        let seconds = Int64(max(0, now.timeIntervalSince(date)))
        return DurationText.format(.seconds(seconds)) + " ago"
    }

    static func until(_ date: Date, now: Date) -> String {
        let seconds = Int64(date.timeIntervalSince(now))
        return seconds <= 0 ? "now" : "in " + DurationText.format(.seconds(seconds))
    }

    /// `12.3` for 12.345: connect times in the table.
    static func oneDecimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    static func clock(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
