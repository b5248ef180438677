import ECSVPCCore
import Foundation
import Testing

/// `ecsvpcd rollout-report` on recorded shapes of `aws ssm list-command-invocations --details` output
/// (Tests/Samples/run-command; field names from the Systems Manager API reference, ListCommandInvocations).
@Suite("Rollout report")
struct RolloutReportTests {
    static let samples = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Samples/run-command")

    static func sample(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: samples.appendingPathComponent(name)))
    }

    static func entry(_ report: RolloutReport, _ instance: String) throws -> RolloutReport.Entry {
        try #require(report.entries.first { $0.instanceId == instance })
    }

    @Test("all succeeded: exit 0")
    func allSucceeded() throws {
        let report = try RolloutReport.make(from: try Self.sample("all-succeeded.json"))
        #expect(report.exitCode == 0)
        #expect(report.instances == 2)
        #expect(report.counts["restarted"] == 1 && report.counts["already-on-endpoints"] == 1)
    }

    @Test("each outcome, with a cut-off output, a missing rollout line and other commands mixed in")
    func eachOutcome() throws {
        let report = try RolloutReport.make(from: try Self.sample("mixed-commands.json"))
        #expect(report.exitCode == 1)
        #expect(report.commandId == "7f3c2a10-5b6e-4c1d-9a8f-0e1d2c3b4a59")
        #expect(report.instances == 11)
        #expect(report.otherInvocations == 2)
        #expect(report.otherRolloutCommands == ["1a2b3c4d-0000-4e5f-8a9b-112233445566"])
        let expected: [String: RolloutReport.Outcome] = [
            "i-0a1b2c3d4e5f60001": .restarted,
            "i-0a1b2c3d4e5f60002": .alreadyOnEndpoints,
            "i-0a1b2c3d4e5f60003": .noUsableEndpoints,
            "i-0a1b2c3d4e5f60004": .verificationFailed,
            "i-0a1b2c3d4e5f60005": .cooldown,
            "i-0a1b2c3d4e5f60006": .noUsableEndpoints,  // not-restarted, exit 2: cannot restart safely
            "i-0a1b2c3d4e5f60007": .notReached,  // Pending
            "i-0a1b2c3d4e5f60008": .notReached,  // Delivery Timed Out, no plugins
            "i-0a1b2c3d4e5f60009": .failedToRun,  // not installed: no rollout line
            "i-0a1b2c3d4e5f6000a": .noUsableEndpoints,  // cut at 2,500 characters
            "i-0a1b2c3d4e5f6000b": .failedToRun,  // Execution Timed Out
        ]
        for (instance, outcome) in expected {
            #expect(try Self.entry(report, instance).outcome == outcome, "\(instance)")
        }
        let blocked = try Self.entry(report, "i-0a1b2c3d4e5f60003")
        #expect(blocked.reason == "no usable endpoints here: CRITICAL ecs-a in VPC but 443 times out (security group?)")
        #expect(blocked.findings == ["endpoint-not-accepting"])
        #expect(!blocked.outputCutOff)
        let cut = try Self.entry(report, "i-0a1b2c3d4e5f6000a")
        #expect(cut.outputCutOff)
        #expect(cut.exitCode == 2)
        #expect(cut.findings.count >= 5 && cut.findings.allSatisfy { $0 == "endpoint-not-accepting" })
        #expect(try Self.entry(report, "i-0a1b2c3d4e5f60009").reason.contains("not installed (exit 127)"))
        #expect(try Self.entry(report, "i-0a1b2c3d4e5f60008").reason == "Delivery Timed Out")
        #expect(try Self.entry(report, "i-0a1b2c3d4e5f6000b").reason.hasPrefix("Execution Timed Out"))
        #expect(try Self.entry(report, "i-0a1b2c3d4e5f60005").reason.contains("cooldown"))

        let table = report.table()
        #expect(table.contains("restarted and verified    1"))
        #expect(table.contains("no usable endpoints       3"))
        #expect(table.contains("i-0a1b2c3d4e5f60003"))
        #expect(table.contains("(output cut at 2,500 characters)"))
        #expect(!table.contains("i-0a1b2c3d4e5f60001"), "successes are counted, not listed")

        let json = try #require(try JSONSerialization.jsonObject(with: try report.json()) as? [String: Any])
        #expect(json["allSucceeded"] as? Bool == false)
        #expect((json["entries"] as? [Any])?.count == 11)
    }

    @Test("one command picked by --command-id: the earlier rollout alone")
    func pickedCommand() throws {
        let report = try RolloutReport.make(from: try Self.sample("mixed-commands.json"), commandId: "1a2b3c4d-0000-4e5f-8a9b-112233445566")
        #expect(report.instances == 1)
        #expect(report.entries.first?.reason == "no usable endpoints here: public 0/3 on endpoints")
    }

    @Test("no invocation of the document: exit 1, and the table says what to check")
    func nothingFound() throws {
        let report = try RolloutReport.make(from: try Self.sample("all-succeeded.json"), documentName: "prod-rollout")
        #expect(report.exitCode == 1)
        #expect(report.table().contains("check --command-id or --document"))
    }

    @Test(
        "input that is not the expected JSON names the bad element",
        arguments: [
            ("bad-response-code.json", "CommandInvocations[1].CommandPlugins[0].ResponseCode", "expected a number"),
            ("missing-instance-id.json", "CommandInvocations[1].InstanceId", "missing"),
            ("cut-off-file.json", "$", "not valid JSON: the JSON ends early, after 1969 bytes"),
            ("table-output.txt", "$", "not valid JSON: not JSON at line 1, column 1"),
        ]
    )
    func badInput(file: String, path: String, problem: String) throws {
        let error = try #require(throws: RolloutReportError.self) { try RolloutReport.make(from: try Self.sample(file)) }
        #expect(error.path == path)
        #expect(error.problem.hasPrefix(problem), "\(error)")
        #expect(error.description.contains("list-command-invocations --details"))
    }

    @Test("empty input and a document of another shape")
    func emptyAndOtherShape() {
        #expect(throws: RolloutReportError.self) { try RolloutReport.make(from: Array(" \n".utf8)) }
        let error = #expect(throws: RolloutReportError.self) { try RolloutReport.make(from: Array(#"{"Commands":[]}"#.utf8)) }
        #expect(error?.path == "CommandInvocations")
        let array = #expect(throws: RolloutReportError.self) { try RolloutReport.make(from: Array(#"[{"InstanceId":"i-1"}]"#.utf8)) }
        #expect(array?.path == "$")
    }

    @Test("the rollout line is read up to a cut anywhere in it")
    func cutAnywhere() throws {
        let full = #"{"result":"no-usable-endpoints","exitCode":2,"message":"no usable \"endpoints\" \u00e9 here","instanceID":"i-1","configuration":"public","findings":[{"id":"a","severity":"critical","message":"m","hint":"h"},{"id":"b","severity":"warning","message":"m","hint":"h"}]}"#
        let complete = try #require(RolloutLine(full + "\n----------ERROR-------\nlog"))
        #expect(!complete.cutOff)
        #expect(complete.message == "no usable \"endpoints\" é here")
        #expect(complete.findings == ["a", "b"])
        // Cut inside the result: nothing to report.
        #expect(RolloutLine(String(full.prefix(25)) + "\n---Output truncated---") == nil)
        // `{"result":"no-usable-endpoints"` is 31 characters, `,"exitCode":2,` ends at 45.
        for length in 31..<full.count {
            let cut = String(full.prefix(length))
            let line = try #require(RolloutLine(cut + "\n---Output truncated---"), "cut at \(length)")
            #expect(line.result == "no-usable-endpoints")
            #expect(line.cutOff)
            if length >= 45 { #expect(line.exitCode == 2) }
            #expect(line.message == nil || line.message == complete.message)
            #expect(Set(line.findings).isSubset(of: ["a", "b"]))
        }
        #expect(RolloutLine("ecsvpcd is not installed") == nil)
        #expect(RolloutLine(#"{"result":}"#) == nil)
    }
}
