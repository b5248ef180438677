import ECSVPCCore

/// Renders `ecsvpcd policy check` as a table: one line per call of the agent, its endpoint and the verdict.
public struct PolicyCheckTable: Sendable {
    public var color: Bool

    public init(color: Bool) {
        self.color = color
    }

    public func render(_ check: PolicyCheck) -> String {
        var lines: [String] = []
        let denied = check.calls.filter { $0.result == .denied }
        let conditional = check.calls.filter { $0.result == .conditional }
        let headline: String
        switch check.result {
        case .allowed:
            headline = "ALLOWED  every call of the agent (\(check.calls.count)) passes this policy"
        case .conditional:
            headline = "CONDITIONAL  \(conditional.count) of \(check.calls.count) calls pass only under what is not evaluated here: "
                + conditional.map(\.call.action).joined(separator: ", ")
        case .denied:
            headline = "DENIED  the agent would be denied \(denied.count) of \(check.calls.count) calls: "
                + denied.map(\.call.action).joined(separator: ", ")
        }
        lines.append(paint(headline, check.result))
        lines.append("")
        let header = ["CALL", "ENDPOINT", "RESULT", "WHY"]
        let rows = check.calls.map { call in
            [
                call.call.action, call.call.endpoint.rawValue,
                call.result == .conditional ? "conditional (not evaluated)" : call.result.rawValue, call.reason,
            ]
        }
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        for (index, row) in all.enumerated() {
            let text = row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: max(0, widths[column] - cell.count))
            }.joined(separator: "  ")
            lines.append(index == 0 ? text : paint(text, check.calls[index - 1].result))
        }
        let occasional = check.calls.filter { !$0.call.when.hasPrefix("always") && $0.result != .allowed }
        if !occasional.isEmpty {
            lines.append("")
            lines.append("Calls the agent makes only sometimes (leave one out with --ignore ACTION if it never happens here):")
            for call in occasional { lines.append("  \(call.call.action): \(call.call.when)") }
        }
        if !check.warnings.isEmpty {
            lines.append("")
            for warning in check.warnings { lines.append("warning: \(warning)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func paint(_ text: String, _ result: PolicyCheck.Result) -> String {
        guard color else { return text }
        let code = switch result {
        case .allowed: "32"
        case .conditional: "33"
        case .denied: "31;1"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}
