import FoundationEssentials

/// `ecsvpcd rollout-report`: how far a Run Command rollout got, from `aws ssm list-command-invocations --details`.
///
/// The input's fields are the API's (Systems Manager API reference: `ListCommandInvocations`,
/// `CommandInvocation`, `CommandPlugin`): `CommandInvocations[]` with `CommandId`, `InstanceId`, `DocumentName`,
/// `Status` (`Pending`, `InProgress`, `Delayed`, `Success`, `Cancelled`, `TimedOut`, `Failed`, `Cancelling`),
/// `StatusDetails` (`Delivery Timed Out`, `Execution Timed Out`, `Undeliverable`, `Terminated`, …),
/// `RequestedDateTime` and `CommandPlugins[]` with `Name`, `Status`, `StatusDetails`, `ResponseCode` and
/// `Output`. `Output` is the step's standard output, then `----------ERROR-------` and its standard error, cut at
/// 2,500 characters; `ResponseCode` is -1 where the step never ran. Every invocation gets one outcome, from
/// `ecsvpcd rollout --json`'s one line in `Output` where there is one.
public struct RolloutReport: Hashable, Sendable, Encodable {
    public enum Outcome: String, Hashable, Sendable, Codable, CaseIterable {
        case restarted
        case alreadyOnEndpoints = "already-on-endpoints"
        case noUsableEndpoints = "no-usable-endpoints"
        case verificationFailed = "verification-failed"
        case cooldown
        case notReached = "not-reached"
        case failedToRun = "failed-to-run"

        public var title: String {
            switch self {
            case .restarted: "restarted and verified"
            case .alreadyOnEndpoints: "already on the endpoints"
            case .noUsableEndpoints: "no usable endpoints"
            case .verificationFailed: "verification failed"
            case .cooldown: "cooldown, budget or lock"
            case .notReached: "not reached"
            case .failedToRun: "failed to run"
            }
        }

        public var succeeded: Bool { self == .restarted || self == .alreadyOnEndpoints }
    }

    /// One instance's invocation.
    public struct Entry: Hashable, Sendable, Encodable {
        public var instanceId: String
        public var outcome: Outcome
        /// The rollout's `result` and `exitCode` (absent when its line is not in the output).
        public var result: String?
        public var exitCode: Int?
        /// The rollout's `message`, else what Run Command says (status details, the output's first line).
        public var reason: String
        /// The ids of the rollout's findings (those complete before a cut).
        public var findings: [String]
        /// `Output` was cut at 2,500 characters before the rollout's line ended.
        public var outputCutOff: Bool
        /// Run Command's `Status` and `StatusDetails`.
        public var status: String
    }

    public var commandId: String?
    public var documentName: String?
    /// Invocations in the input that belong to other commands or documents, and so are not counted.
    public var otherInvocations: Int
    /// Other commands of the same document in the input (an earlier rollout), not counted.
    public var otherRolloutCommands: [String]
    public var instances: Int
    public var allSucceeded: Bool
    public var counts: [String: Int]
    public var entries: [Entry]

    /// The report of one rollout command: the one named, else the newest invocations of the rollout document.
    public static func make(
        from input: [UInt8], commandId wanted: String? = nil, documentName: String = "ecsvpcd-rollout"
    ) throws(RolloutReportError) -> RolloutReport {
        let list = try decode(input)
        let ofDocument = list.CommandInvocations.filter { invocation in
            wanted.map { invocation.CommandId == $0 } ?? (invocation.DocumentName == documentName)
        }
        // Several rollouts of the document: the newest one (by RequestedDateTime, else the first listed).
        var commands: [String] = []
        for invocation in ofDocument {
            let id = invocation.CommandId ?? ""
            if !commands.contains(id) { commands.append(id) }
        }
        let chosen = wanted ?? ofDocument.max { ($0.RequestedDateTime ?? "") < ($1.RequestedDateTime ?? "") }?.CommandId
        let selected = ofDocument.filter { wanted != nil || $0.CommandId == chosen }
        let entries = selected.map(entry).sorted { ($0.outcome.sortIndex, $0.instanceId) < ($1.outcome.sortIndex, $1.instanceId) }
        var counts: [String: Int] = [:]
        for outcome in Outcome.allCases { counts[outcome.rawValue] = 0 }
        for entry in entries { counts[entry.outcome.rawValue, default: 0] += 1 }
        return RolloutReport(
            commandId: chosen ?? wanted, documentName: selected.first?.DocumentName ?? (wanted == nil ? documentName : nil),
            otherInvocations: list.CommandInvocations.count - selected.count,
            otherRolloutCommands: commands.filter { $0 != chosen && $0 != "" },
            instances: entries.count,
            allSucceeded: !entries.isEmpty && entries.allSatisfy(\.outcome.succeeded),
            counts: counts, entries: entries
        )
    }

    /// 0 when every invocation succeeded (restarted, or already on the endpoints), else 1.
    public var exitCode: Int32 { allSucceeded ? 0 : 1 }

    /// The table by result, then each non-success's instances grouped by reason; `idsPerReason` bounds how many
    /// ids are printed per reason (`--json` lists all).
    public func table(idsPerReason: Int = 20) -> String {
        var text = "rollout " + (commandId.map { "command \($0)" } ?? "(no command)")
        if let documentName { text += " (\(documentName))" }
        text += ": \(instances) instance\(instances == 1 ? "" : "s")"
        if otherInvocations > 0 { text += "; \(otherInvocations) invocation\(otherInvocations == 1 ? "" : "s") of other commands not counted" }
        text += "\n"
        if !otherRolloutCommands.isEmpty {
            text += "also in the input, not counted: \(otherRolloutCommands.joined(separator: ", ")) (pick one with --command-id)\n"
        }
        if instances == 0 {
            text += "no invocation of the rollout document found: check --command-id or --document\n"
        }
        text += "\n"
        let width = Outcome.allCases.map(\.title.count).max() ?? 0
        func column(_ text: String) -> String { text + String(repeating: " ", count: width + 2 - text.count) }
        text += column("RESULT") + "INSTANCES\n"
        for outcome in Outcome.allCases {
            text += column(outcome.title) + "\(counts[outcome.rawValue] ?? 0)\n"
        }
        for outcome in Outcome.allCases where !outcome.succeeded {
            let ofOutcome = entries.filter { $0.outcome == outcome }
            guard !ofOutcome.isEmpty else { continue }
            text += "\n\(outcome.title) (\(ofOutcome.count)):\n"
            var reasons: [String] = []
            var ids: [String: [String]] = [:]
            for entry in ofOutcome {
                var reason = entry.reason
                if !entry.findings.isEmpty { reason += " [" + entry.findings.uniqued().joined(separator: ", ") + "]" }
                if entry.outputCutOff { reason += " (output cut at 2,500 characters)" }
                if ids[reason] == nil { reasons.append(reason) }
                ids[reason, default: []].append(entry.instanceId)
            }
            for reason in reasons.sorted(by: { (ids[$0]?.count ?? 0, $1) > (ids[$1]?.count ?? 0, $0) }) {
                let list = ids[reason] ?? []
                text += "  \(list.count) × \(reason)\n"
                var line = "    " + list.prefix(idsPerReason).joined(separator: " ")
                if list.count > idsPerReason { line += " … and \(list.count - idsPerReason) more (--json lists all)" }
                text += line + "\n"
            }
        }
        return text
    }

    public func json() throws -> Data {
        try StatusDocument.encoder().encode(self)
    }

    // MARK: Reading the input

    /// The invocations, or the path of the first element that is not what the API returns.
    static func decode(_ input: [UInt8]) throws(RolloutReportError) -> CommandInvocationList {
        guard input.contains(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) else {
            throw RolloutReportError(path: "$", problem: "the input is empty: no JSON document")
        }
        do {
            return try JSONDecoder().decode(CommandInvocationList.self, from: Data(input))
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty, let problem = PartialJSON.problem(in: input) {
                throw RolloutReportError(path: "$", problem: "not valid JSON: \(problem)")
            }
            throw RolloutReportError(error)
        } catch {
            throw RolloutReportError(path: "$", problem: "\(error)")
        }
    }

    static func entry(_ invocation: CommandInvocation) -> Entry {
        let plugins = invocation.CommandPlugins ?? []
        let plugin = plugins.first { $0.Output.flatMap(RolloutLine.init) != nil } ?? plugins.first { $0.Name == "rollout" } ?? plugins.first
        let status = [invocation.Status, invocation.StatusDetails].compactMap { $0 }.uniqued().joined(separator: ": ")
        if let output = plugin?.Output, let line = RolloutLine(output) {
            return Entry(
                instanceId: invocation.InstanceId, outcome: line.outcome, result: line.result, exitCode: line.exitCode,
                reason: line.message ?? line.result, findings: line.findings, outputCutOff: line.cutOff, status: status
            )
        }
        let details = invocation.StatusDetails ?? plugin?.StatusDetails ?? invocation.Status
        // Never delivered or never started: the command did not reach the instance (yet).
        let unreached: Set<String> = [
            "Pending", "InProgress", "In Progress", "Delayed", "Cancelled", "Cancelling", "Delivery Timed Out",
            "Undeliverable", "Terminated", "Rate Exceeded",
        ]
        let code = plugin?.ResponseCode
        if unreached.contains(details) || unreached.contains(invocation.Status) || (plugin == nil && invocation.Status != "Failed") {
            return Entry(
                instanceId: invocation.InstanceId, outcome: .notReached, result: nil, exitCode: nil,
                reason: details, findings: [], outputCutOff: false, status: status
            )
        }
        var reason = details
        if code == 127 {
            reason = "ecsvpcd is not installed (exit 127): run the ecsvpcd-install document"
        } else if let first = plugin?.Output?.split(separator: "\n").first(where: { !$0.allSatisfy(\.isWhitespace) }) {
            reason = "\(details), exit \(code.map(String.init) ?? "?"): no ecsvpcd rollout line in the output; it begins: "
                + String(first.prefix(200))
        } else {
            reason = "\(details), exit \(code.map(String.init) ?? "?"), no output"
        }
        return Entry(
            instanceId: invocation.InstanceId, outcome: .failedToRun, result: nil, exitCode: code, reason: reason,
            findings: [], outputCutOff: false, status: status
        )
    }
}

extension RolloutReport.Outcome {
    var sortIndex: Int { Self.allCases.firstIndex(of: self) ?? 0 }
}

/// `ecsvpcd rollout --json`'s one line, found in a step's output and read even when cut off: its fields come in
/// the order `schema`, `result`, `exitCode`, `message`, `instanceID`, `configuration`, `restart`, `findings`, so that the
/// first 2,500 characters hold what matters.
public struct RolloutLine: Hashable, Sendable {
    public var result: String
    public var exitCode: Int?
    public var message: String?
    public var findings: [String]
    public var cutOff: Bool

    /// Nil when no line of `output` begins with `{"schema":` (the line since `--json` always prints a document) or
    /// `{"result":` (before that) and gives a result.
    public init?(_ output: String) {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        guard let line = lines.first(where: { $0.hasPrefix("{\"schema\":") || $0.hasPrefix("{\"result\":") }),
             let (value, cutOff) = PartialJSON.read(line), let result = value["result"]?.string else { return nil }
        self.result = result
        exitCode = value["exitCode"]?.number.map { Int($0) }
        message = value["message"]?.string
        findings = (value["findings"]?.elements ?? []).compactMap { $0["id"]?.string }
        // The line ends where the output ends: Run Command cut it (a complete line is followed by a newline or
        // by the error section).
        self.cutOff = cutOff
    }

    public var outcome: RolloutReport.Outcome {
        switch result {
        case "restarted": .restarted
        case "already-on-endpoints": .alreadyOnEndpoints
        case "no-usable-endpoints", "instance-context-unknown": .noUsableEndpoints
        case "verification-failed": .verificationFailed
        // 2: the agent cannot be restarted safely here (the README's table); 1: cooldown, budget or the lock.
        case "not-restarted": exitCode == 2 ? .noUsableEndpoints : .cooldown
        default: .failedToRun
        }
    }
}

/// The input is not the JSON of `aws ssm list-command-invocations --details`: where, and what is wrong.
public struct RolloutReportError: Error, Sendable, CustomStringConvertible {
    /// `CommandInvocations[3].CommandPlugins[0].ResponseCode`, or `$` for the document as a whole.
    public var path: String
    public var problem: String

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    init(_ error: DecodingError) {
        func render(_ codingPath: [any CodingKey]) -> String {
            var path = ""
            for key in codingPath {
                if let index = key.intValue { path += "[\(index)]" } else { path += (path.isEmpty ? "" : ".") + key.stringValue }
            }
            return path.isEmpty ? "$" : path
        }
        switch error {
        case .keyNotFound(let key, let context):
            self.init(path: render(context.codingPath + [key]), problem: "missing")
        case .typeMismatch(let type, let context):
            self.init(path: render(context.codingPath), problem: "expected \(Self.describe(type))")
        case .valueNotFound(let type, let context):
            self.init(path: render(context.codingPath), problem: "expected \(Self.describe(type)), found null")
        case .dataCorrupted(let context):
            let underlying = context.underlyingError.map { ": \($0)" } ?? ""
            self.init(path: render(context.codingPath), problem: "not valid JSON\(underlying)")
        @unknown default:
            self.init(path: "$", problem: "\(error)")
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Double.Type: "a number"
        case is [CommandInvocation].Type, is [CommandPlugin].Type: "an array"
        default: "an object"
        }
    }

    public var description: String {
        "\(path): \(problem); expected the JSON of `aws ssm list-command-invocations --details --output json` "
            + "(without --query)"
    }
}

// The API's shapes, with the API's field names.
struct CommandInvocationList: Decodable {
    var CommandInvocations: [CommandInvocation]
}

struct CommandInvocation: Decodable {
    var CommandId: String?
    var InstanceId: String
    var DocumentName: String?
    var Status: String
    var StatusDetails: String?
    /// ISO 8601 from the AWS CLI (a number of seconds from the raw API is read as its text).
    var RequestedDateTime: String?
    var CommandPlugins: [CommandPlugin]?

    enum CodingKeys: String, CodingKey {
        case CommandId, InstanceId, DocumentName, Status, StatusDetails, RequestedDateTime, CommandPlugins
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        CommandId = try container.decodeIfPresent(String.self, forKey: .CommandId)
        InstanceId = try container.decode(String.self, forKey: .InstanceId)
        DocumentName = try container.decodeIfPresent(String.self, forKey: .DocumentName)
        Status = try container.decode(String.self, forKey: .Status)
        StatusDetails = try container.decodeIfPresent(String.self, forKey: .StatusDetails)
        if let seconds = try? container.decodeIfPresent(Double.self, forKey: .RequestedDateTime) {
            RequestedDateTime = String(seconds)
        } else {
            RequestedDateTime = try container.decodeIfPresent(String.self, forKey: .RequestedDateTime)
        }
        CommandPlugins = try container.decodeIfPresent([CommandPlugin].self, forKey: .CommandPlugins)
    }
}

struct CommandPlugin: Decodable {
    var Name: String?
    var Status: String?
    var StatusDetails: String?
    var ResponseCode: Int?
    var Output: String?
}
