import Foundation
import Testing

/// The built binary's command line, beyond what the feature suites run.
@Suite("Command line")
struct CommandLineTests {
    @Test("--config is taken by every command, version too")
    func versionTakesConfig() throws {
        let run = try runTool(try builtECSVPCD(), ["version", "--config", "/nonexistent/ecsvpcd.conf"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.hasPrefix("ecsvpcd "), "\(run.output)")
    }

    @Test("a near miss of a key in the environment is a warning on stderr, and the command still runs")
    func environmentTypoWarns() throws {
        let directory = try TemporaryDirectory()
        try directory.write(
            "ecsvpcd.conf", "ECSVPCD_STATE_DIR=\(directory.file("state"))\nECSVPCD_RUNTIME_DIR=\(directory.file("run"))\n"
        )
        let run = try runTool(
            try builtECSVPCD(), ["status", "--config", directory.file("ecsvpcd.conf")],
            environment: ["PATH": "/usr/bin:/bin", "ECSVPCD_RESTRAT": "never", "ECSVPCD_TEST_RUN_DIR": "/tmp"]
        )
        #expect(run.status == 3, "no daemon and nothing saved: unknown\n\(run.output)")
        #expect(run.output.contains("ecsvpcd: configuration warning: environment: unknown key ECSVPCD_RESTRAT"), "\(run.output)")
        #expect(run.output.contains("did you mean ECSVPCD_RESTART?"), "\(run.output)")
        #expect(!run.output.contains("ECSVPCD_TEST_RUN_DIR"), "a harness's own variable is not ecsvpcd's business")
    }
}
