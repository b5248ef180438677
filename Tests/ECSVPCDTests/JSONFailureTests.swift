import Foundation
import Testing

/// `check --json`, `status --json` and `rollout --json` print a JSON document on stdout in every case, also when
/// they fail, with the exit code they had before: a script piping into jq never reads an empty stdin.
@Suite("--json failures: a document on stdout, the same exit code")
struct JSONFailureTests {
    /// stdout as one JSON object, and its `error`.
    static func document(_ stdout: String) throws -> (json: [String: Any], error: [String: Any]) {
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any], "not a JSON object: \(stdout)"
        )
        let error = try #require(json["error"] as? [String: Any], "no error in \(stdout)")
        #expect(json["schema"] as? Int == 1, "\(stdout)")
        for field in ["id", "message", "hint"] {
            #expect((error[field] as? String)?.isEmpty == false, "error.\(field) in \(stdout)")
        }
        return (json, error)
    }

    /// A directory with `ecsvpcd.conf` holding `lines`, and the state and runtime directories inside it.
    static func config(_ lines: [String]) throws -> (TemporaryDirectory, String) {
        let directory = try TemporaryDirectory()
        let text =
            ([
                "ECSVPCD_STATE_DIR=\(directory.file("state"))", "ECSVPCD_RUNTIME_DIR=\(directory.file("run"))",
            ] + lines).joined(separator: "\n") + "\n"
        try directory.write("ecsvpcd.conf", text)
        return (directory, directory.file("ecsvpcd.conf"))
    }

    @Test("a bad configuration: check --json and rollout --json exit 78 with configuration-invalid")
    func badConfiguration() async throws {
        let (directory, path) = try Self.config(["ECSVPCD_PROBE_TIMEOUT=forever"])
        defer { withExtendedLifetime(directory) {} }
        let binary = try builtECSVPCD()

        let check = try await runBinary(binary, ["check", "--json", "--config", path])
        #expect(check.status == 78, "\(check)")
        #expect(check.stderr.contains("ecsvpcd: configuration error:"), "\(check.stderr)")
        let (json, error) = try Self.document(check.stdout)
        #expect(json["source"] as? String == "check")
        #expect(json["health"] as? String == "unknown")
        #expect(json["exitCode"] as? Int == 78)
        #expect(error["id"] as? String == "configuration-invalid")
        #expect((error["message"] as? String)?.contains("bad value ECSVPCD_PROBE_TIMEOUT") == true, "\(error)")

        let rollout = try await runBinary(binary, ["rollout", "--json", "--config", path])
        #expect(rollout.status == 78, "\(rollout)")
        #expect(rollout.stdout.hasPrefix("{\"schema\":1,\"result\":\"configuration-invalid\",\"exitCode\":78,"), "\(rollout.stdout)")
        #expect(rollout.stdout.filter { $0 == "\n" }.count == 1, "one line: \(rollout.stdout)")
        let (_, rolloutError) = try Self.document(rollout.stdout)
        #expect(rolloutError["id"] as? String == "configuration-invalid")

        // Without --json nothing changes: the message on stderr only.
        let plain = try await runBinary(binary, ["check", "--config", path])
        #expect(plain.status == 78 && plain.stdout.isEmpty, "\(plain)")
    }

    @Test("instance metadata refused: check --json exits 3, rollout --json 2, both instance-context-unknown")
    func instanceMetadataRefused() async throws {
        // Port 9 on loopback: nothing listens, the connection is refused at once.
        let (directory, path) = try Self.config(["ECSVPCD_IMDS_ENDPOINT=http://127.0.0.1:9"])
        defer { withExtendedLifetime(directory) {} }
        let binary = try builtECSVPCD()

        let check = try await runBinary(binary, ["check", "--json", "--config", path])
        #expect(check.status == 3, "\(check)")
        let (json, error) = try Self.document(check.stdout)
        #expect(json["source"] as? String == "check")
        #expect(error["id"] as? String == "instance-context-unknown")
        #expect((error["message"] as? String)?.contains("ECSVPCD_REGION") == true, "\(error)")
        #expect(check.stderr.contains("ecsvpcd check: cannot learn the instance context"), "\(check.stderr)")

        let rollout = try await runBinary(binary, ["rollout", "--json", "--config", path])
        #expect(rollout.status == 2, "\(rollout)")
        let (outcome, rolloutError) = try Self.document(rollout.stdout)
        #expect(outcome["result"] as? String == "instance-context-unknown")
        #expect(rolloutError["id"] as? String == "instance-context-unknown")
    }

    @Test("no daemon and no saved status: status --json exits 3 with daemon-not-running")
    func noDaemonNoSavedStatus() async throws {
        let (directory, path) = try Self.config([])
        defer { withExtendedLifetime(directory) {} }
        let run = try await runBinary(try builtECSVPCD(), ["status", "--json", "--config", path])
        #expect(run.status == 3, "\(run)")
        let (json, error) = try Self.document(run.stdout)
        #expect(json["source"] as? String == "status")
        #expect(json["health"] as? String == "unknown")
        #expect(error["id"] as? String == "daemon-not-running")
        #expect(run.stderr.contains("ecsvpcd is not running"), "\(run.stderr)")

        let plain = try await runBinary(try builtECSVPCD(), ["status", "--config", path])
        #expect(plain.status == 3 && plain.stdout.isEmpty, "\(plain)")
    }

    @Test("a usage error with --json: exit 64 and a usage document (an unknown option, a bad --max-wait)")
    func usageErrors() async throws {
        let binary = try builtECSVPCD()
        for command in ["check", "status", "rollout"] {
            let run = try await runBinary(binary, [command, "--json", "--no-such-option"])
            #expect(run.status == 64, "\(command): \(run)")
            let (_, error) = try Self.document(run.stdout)
            #expect(error["id"] as? String == "usage", "\(command): \(run.stdout)")
            #expect((error["message"] as? String)?.contains("--no-such-option") == true, "\(command): \(error)")
        }
        let (directory, path) = try Self.config([])
        defer { withExtendedLifetime(directory) {} }
        let wait = try await runBinary(binary, ["rollout", "--json", "--max-wait", "soon", "--config", path])
        #expect(wait.status == 64, "\(wait)")
        let (outcome, error) = try Self.document(wait.stdout)
        #expect(outcome["result"] as? String == "usage")
        #expect((error["message"] as? String)?.contains("--max-wait soon") == true, "\(error)")
        #expect(wait.stderr.contains("ecsvpcd rollout: --max-wait soon is not a duration"), "\(wait.stderr)")
    }
}
