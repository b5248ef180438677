import Foundation
import Testing

/// The built binary's command line, beyond what the feature suites run.
@Suite("Command line")
struct CommandLineTests {
    @Test("`--version` and `version` print the same line, ecsvpcd VERSION")
    func versionBothWays() async throws {
        let binary = try builtECSVPCD()
        let flag = try await runBinary(binary, ["--version"])
        let command = try await runBinary(binary, ["version"])
        #expect(flag.status == 0 && command.status == 0, "\(flag) \(command)")
        #expect(flag.stdout == command.stdout, "--version: \(flag.stdout) version: \(command.stdout)")
        #expect(command.stdout.hasPrefix("ecsvpcd ") && command.stdout.hasSuffix("\n"), "\(command.stdout)")
    }

    @Test("`version` takes --config as every command does (the contract), ignores it, and does not show it")
    func versionTakesConfigQuietly() async throws {
        let binary = try builtECSVPCD()
        let run = try await runBinary(binary, ["version", "--config", "/nonexistent/ecsvpcd.conf"])
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout.hasPrefix("ecsvpcd "), "\(run.stdout)")
        let help = try await runBinary(binary, ["version", "--help"])
        #expect(help.status == 0, "\(help)")
        #expect(!help.stdout.contains("--config"), "a file that version never reads is not offered: \(help.stdout)")
    }

    @Test("`--help` and a command's help name the default configuration file")
    func helpShowsDefaultConfig() async throws {
        let binary = try builtECSVPCD()
        for arguments in [["--help"], ["check", "--help"], ["status", "--help"]] {
            let run = try await runBinary(binary, arguments)
            #expect(run.status == 0, "\(arguments): \(run)")
            #expect(run.stdout.contains("/etc/ecsvpcd/ecsvpcd.conf"), "\(arguments): \(run.stdout)")
        }
    }

    @Test("a bare `ecsvpcd` prints the help on stderr and exits 64 (EX_USAGE)")
    func bareCommandIsUsageError() async throws {
        let run = try await runBinary(try builtECSVPCD(), [])
        #expect(run.status == 64, "\(run)")
        #expect(run.stdout.isEmpty, "\(run.stdout)")
        #expect(run.stderr.contains("USAGE: ecsvpcd"), "\(run.stderr)")
        #expect(run.stderr.contains("SUBCOMMANDS"), "\(run.stderr)")
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
