import Foundation
import Testing

/// `ecsvpcd policy check` as the built binary runs it: files and stdin, the table, `--json`, the exit codes.
@Suite("policy check command")
struct PolicyCommandTests {
    /// Runs the binary with `input` on stdin; stdout and stderr apart.
    private func policyCheck(_ arguments: [String], input: String = "") throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try builtECSVPCD())
        process.arguments = ["policy", "check"] + arguments
        process.environment = ["PATH": "/usr/bin:/bin", "NO_COLOR": "1"]
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    private let awsExample = #"{"Statement":[{"Effect":"Allow","Action":["ecs:CreateCluster","ecs:ListClusters"],"Resource":["*"]}]}"#

    @Test("AWS's ECS example from a file: exit 2, the denied calls named, the missing Principal warned of")
    func awsExampleFromFile() throws {
        let directory = try TemporaryDirectory()
        try directory.write("policy.json", awsExample)
        let run = try policyCheck([directory.file("policy.json")])
        #expect(run.status == 2, "\(run.out)\(run.err)")
        let headline = try #require(run.out.split(separator: "\n").first)
        #expect(headline.hasPrefix("DENIED"))
        #expect(headline.contains("ecs:RegisterContainerInstance") && headline.contains("ecs:Poll"))
        #expect(!headline.contains("ecs:CreateCluster"))
        #expect(run.out.contains("ecs:StartTelemetrySession          ecs-telemetry  denied"), "\(run.out)")
        #expect(run.out.contains("warning: Statement[0] ($.Statement[0]) has no Principal"))
    }

    @Test("stdin, --json, and the exit code for allowed, conditional and denied")
    func json() throws {
        let allowed = try policyCheck(["--json", "-"], input: #"{"Statement":{"Effect":"Allow","Principal":"*","Action":"ecs:*","Resource":"*"}}"#)
        #expect(allowed.status == 0, "\(allowed.out)\(allowed.err)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(allowed.out.utf8)) as? [String: Any])
        #expect(document["schema"] as? Int == 1)
        #expect(document["result"] as? String == "allowed")
        let calls = try #require(document["calls"] as? [[String: Any]])
        #expect(calls.count == 12)
        #expect(calls.contains { $0["action"] as? String == "ecs:Poll" && $0["endpoint"] as? String == "ecs-agent" })
        #expect(calls.allSatisfy { ($0["source"] as? String)?.contains(".go") == true })

        let conditional = try policyCheck(
            ["--json"],
            input: #"{"Statement":{"Effect":"Allow","Principal":"*","Action":"ecs:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"1"}}}}"#
        )
        #expect(conditional.status == 1, "\(conditional.out)")
        #expect(conditional.out.contains(#""result" : "conditional""#))

        let denied = try policyCheck(["--json", "-"], input: awsExample)
        #expect(denied.status == 2)
        #expect(denied.out.contains(#""result" : "denied""#))
    }

    @Test("--endpoint and --ignore choose the calls; --cluster and --account make ARNs known")
    func selection() throws {
        let pollOnly = #"{"Statement":{"Effect":"Allow","Principal":"*","Action":"ecs:Poll","Resource":"*"}}"#
        #expect(try policyCheck(["--endpoint", "ecs-agent"], input: pollOnly).status == 0)
        #expect(try policyCheck(["--endpoint", "ecs-telemetry"], input: pollOnly).status == 2)
        let noCreate = #"{"Statement":{"Effect":"Allow","Principal":"*","NotAction":"ecs:CreateCluster","Resource":"*"}}"#
        #expect(try policyCheck([], input: noCreate).status == 2)
        #expect(try policyCheck(["--ignore", "ecs:CreateCluster"], input: noCreate).status == 0)
        #expect(try policyCheck(["--ignore", "createcluster"], input: noCreate).status == 0)
        let clusterOnly = #"{"Statement":{"Effect":"Allow","Principal":"*","Action":"ecs:Submit*","Resource":"arn:aws:ecs:eu-west-1:123456789012:cluster/prod"}}"#
        let unknown = try policyCheck(["--endpoint", "ecs", "--ignore", "ecs:RegisterContainerInstance"], input: clusterOnly)
        #expect(unknown.status == 2, "the other calls are denied")
        #expect(unknown.out.contains("ecs:SubmitTaskStateChange          ecs       conditional (not evaluated)"), "\(unknown.out)")
        let known = try policyCheck(
            ["--json", "--partition", "aws", "--region", "eu-west-1", "--account", "123456789012", "--cluster", "prod"],
            input: clusterOnly
        )
        #expect(known.out.contains(#""resource" : "arn:aws:ecs:eu-west-1:123456789012:cluster/prod""#))
        #expect(known.out.contains(#""action" : "ecs:SubmitTaskStateChange""#))
    }

    @Test("bad input: 65 with line:column or JSON path, 66 for a missing file, 64 for bad options")
    func errors() throws {
        let notJSON = try policyCheck([], input: "{\n  \"Statement\": [\n    {\"Effect\": \"Allow\",}\n  ]\n}")
        #expect(notJSON.status == 65)
        #expect(notJSON.err.contains("standard input: line 3, column 23: not JSON: trailing comma before '}'"), "\(notJSON.err)")
        #expect(notJSON.out.isEmpty)

        let unknown = try policyCheck(["--json"], input: #"{"Statement":[{"Effect":"Allow","Principal":"*","Acton":"ecs:*","Resource":"*"}]}"#)
        #expect(unknown.status == 65)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(unknown.out.utf8)) as? [String: Any])
        let error = try #require(document["error"] as? [String: Any])
        #expect(error["id"] as? String == "policy-invalid")
        #expect(error["path"] as? String == "$.Statement[0].Acton")
        #expect(error["position"] as? String == "1:49")
        #expect((error["hint"] as? String)?.contains("did you mean Action?") == true)
        #expect(document["exitCode"] as? Int == 65)

        let long = try policyCheck([], input: #"{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}"# + String(repeating: " ", count: 20_480) + "}")
        #expect(long.status == 65)
        #expect(long.err.contains("at most 20,480"), "\(long.err)")

        let missing = try policyCheck(["/nonexistent/policy.json"])
        #expect(missing.status == 66)
        #expect(missing.err.contains("cannot read /nonexistent/policy.json: No such file or directory"))

        #expect(try policyCheck(["--endpoint", "ecr"], input: awsExample).status == 64)
        #expect(try policyCheck(["--ignore", "ecs:ListClusters"], input: awsExample).status == 64)
        #expect(try policyCheck(["--no-such-option"], input: awsExample).status == 64)
    }
}
