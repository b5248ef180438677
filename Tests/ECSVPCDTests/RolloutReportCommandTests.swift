import ECSVPCCore
@testable import ECSVPCD
import Foundation
import Testing

/// `ecsvpcd rollout-report` as the built binary, on the recorded Run Command samples (Tests/Samples/run-command),
/// and the rollout's own one-line output read back by the report.
@Suite("ecsvpcd rollout-report")
struct RolloutReportCommandTests {
    static let samples = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Samples/run-command").path

    static func report(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try runTool(try builtECSVPCD(), ["rollout-report"] + arguments, environment: ["PATH": "/usr/bin:/bin"])
    }

    @Test("exit 0 when every instance succeeded, 1 otherwise, with the table by result")
    func exitCodes() throws {
        let good = try Self.report([Self.samples + "/all-succeeded.json"])
        #expect(good.status == 0, "\(good.output)")
        #expect(good.output.contains("restarted and verified    1"), "\(good.output)")
        let mixed = try Self.report([Self.samples + "/mixed-commands.json"])
        #expect(mixed.status == 1, "\(mixed.output)")
        #expect(mixed.output.contains("not reached               2"), "\(mixed.output)")
        #expect(mixed.output.contains("i-0a1b2c3d4e5f60009"), "\(mixed.output)")
    }

    @Test("reads stdin with -, and --json gives the same as a document")
    func stdinAndJSON() throws {
        let binary = try builtECSVPCD()
        let run = try runTool("/bin/sh", ["-c", "'\(binary)' rollout-report --json - < '\(Self.samples)/mixed-commands.json'"])
        #expect(run.status == 1)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
        let counts = try #require(document["counts"] as? [String: Int])
        #expect(counts == [
            "restarted": 1, "already-on-endpoints": 1, "no-usable-endpoints": 3, "verification-failed": 1, "cooldown": 1,
            "not-reached": 2, "failed-to-run": 2,
        ])
        #expect(document["commandId"] as? String == "7f3c2a10-5b6e-4c1d-9a8f-0e1d2c3b4a59")
    }

    @Test("bad input exits 65 naming the bad element; a missing file exits 66")
    func badInput() throws {
        let bad = try Self.report([Self.samples + "/bad-response-code.json"])
        #expect(bad.status == 65)
        #expect(bad.output.contains("CommandInvocations[1].CommandPlugins[0].ResponseCode: expected a number"), "\(bad.output)")
        let document = try runTool(try builtECSVPCD(), ["rollout-report", "--json", Self.samples + "/missing-instance-id.json"])
        #expect(document.status == 65)
        let firstLine = String(document.output.split(separator: "\n").first { $0.hasPrefix("{") } ?? "")
        let failure = try #require(try JSONSerialization.jsonObject(with: Data(firstLine.utf8)) as? [String: Any], "\(document.output)")
        let error = try #require(failure["error"] as? [String: String])
        #expect(failure["schema"] as? Int == 1)
        #expect(error["id"] == "bad-input")
        #expect(error["message"]?.contains("CommandInvocations[1].InstanceId: missing") == true)
        let missing = try Self.report(["/nonexistent/invocations.json"])
        #expect(missing.status == 66)
        #expect(missing.output.contains("/nonexistent/invocations.json"), "\(missing.output)")
    }

    @Test("the rollout's own --json line is read back whole, and up to any cut", arguments: [
        ("restarted", Int32(0), RolloutReport.Outcome.restarted),
        ("already-on-endpoints", 0, .alreadyOnEndpoints),
        ("no-usable-endpoints", 2, .noUsableEndpoints),
        ("instance-context-unknown", 2, .noUsableEndpoints),
        ("verification-failed", 1, .verificationFailed),
        ("not-restarted", 1, .cooldown),
        ("not-restarted", 2, .noUsableEndpoints),
    ])
    func rolloutLineRoundTrip(result: String, code: Int32, outcome: RolloutReport.Outcome) throws {
        let finding = Finding(id: "endpoint-not-accepting", severity: .critical, message: "10.0.3.11 times out", hint: "security group")
        let outcomeLine = try Rollout.Outcome(
            result: result, exitCode: code, message: "message \"quoted\" é", instanceID: "i-0123456789abcdef0",
            configuration: .vpcEndpoints,
            restart: StatusDocument.RestartRecord(at: Date(timeIntervalSince1970: 1_750_000_000), via: "systemd", result: "verified", reason: "r", detail: "d"),
            findings: [finding, finding]
        ).jsonLine()
        let line = try #require(RolloutLine(outcomeLine + "\n\n----------ERROR-------\necsvpcd rollout exited \(code)\n"))
        #expect(line.result == result && line.exitCode == Int(code) && !line.cutOff)
        #expect(line.message == "message \"quoted\" é")
        #expect(line.findings == ["endpoint-not-accepting", "endpoint-not-accepting"])
        #expect(line.outcome == outcome)
        let cut = try #require(RolloutLine(String(outcomeLine.prefix(outcomeLine.count - 30)) + "\n---Output truncated---"))
        #expect(cut.cutOff && cut.result == result && cut.findings.count <= 2)
    }
}
