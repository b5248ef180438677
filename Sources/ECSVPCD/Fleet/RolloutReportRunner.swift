import ECSVPCCore
import FoundationEssentials

/// `ecsvpcd rollout-report`: reads `aws ssm list-command-invocations --details` (a file, or `-` for stdin) and
/// prints the table by result, or the report as JSON. Exit 0 when every instance succeeded, 1 otherwise, 65
/// (EX_DATAERR) when the input is not that JSON, 66 (EX_NOINPUT) when it cannot be read.
public enum RolloutReportRunner {
    /// The most input read: 10,000 invocations with 2,500 characters of output each are about 30 MiB.
    static let inputLimit = 512 << 20

    public static func run(input path: String, json: Bool, commandId: String?, documentName: String) -> CommandOutput {
        let name = path == "-" ? "stdin" : path
        let bytes: [UInt8]
        do {
            bytes = try SystemFile.read(path == "-" ? "/dev/stdin" : path, limit: inputLimit)
        } catch {
            return failure(
                "cannot-read", "cannot read \(error)", hint: "give the file of list-command-invocations, or - for stdin",
                json: json, exitCode: 66
            )
        }
        let report: RolloutReport
        do {
            report = try RolloutReport.make(from: bytes, commandId: commandId, documentName: documentName)
        } catch {
            return failure(
                "bad-input", "\(name): \(error.path): \(error.problem)",
                hint: "give the JSON of `aws ssm list-command-invocations --details --output json` (without --query)",
                json: json, exitCode: 65
            )
        }
        if json {
            let text = (try? report.json()).map { String(decoding: $0, as: UTF8.self) + "\n" } ?? ""
            return CommandOutput(standardOutput: text, exitCode: report.exitCode)
        }
        return CommandOutput(standardOutput: report.table(), exitCode: report.exitCode)
    }

    /// The message on stderr; with `--json` also one document on stdout, as every `--json` failure:
    /// `{"schema":1,"error":{"id","message","hint"}}`.
    static func failure(_ id: String, _ message: String, hint: String, json: Bool, exitCode: Int32) -> CommandOutput {
        let text = "ecsvpcd rollout-report: \(message); \(hint)\n"
        guard json else { return CommandOutput(standardError: text, exitCode: exitCode) }
        struct Failure: Encodable {
            var schema = 1
            var error: ErrorDocument.Detail
        }
        let document = (try? StatusDocument.encoder(pretty: false).encode(Failure(error: .init(id: id, message: message, hint: hint))))
            .map { String(decoding: $0, as: UTF8.self) + "\n" } ?? ""
        return CommandOutput(standardOutput: document, standardError: text, exitCode: exitCode)
    }
}
