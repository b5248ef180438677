import ArgumentParser
import ECSVPCCore
import ECSVPCD
import FoundationEssentials
import Glibc
import Logging
import ServiceLifecycle

@main
struct ECSVPCDCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ecsvpcd",
        abstract: "Moves the ECS agent onto the Amazon ECS interface VPC endpoints, safely, across a fleet.",
        discussion: "Configuration: \(Settings.defaultPath) unless --config PATH is given (see man 8 ecsvpcd).",
        version: VersionCommand.line,
        subcommands: [
            RunCommand.self, CheckCommand.self, StatusCommand.self, ReprobeCommand.self, RestartAgentCommand.self,
            RolloutCommand.self, RolloutReportCommand.self, VersionCommand.self,
            PolicyCommand.self,
        ]
    )

    /// Parses and runs the command on one event loop thread (`SingleLoopRuntime`).
    static func main() async {
        await SingleLoopRuntime.run { await CommandMain.run() }
    }

    /// A bare `ecsvpcd` is a usage error: the help on stderr, exit 64 (EX_USAGE).
    func run() async throws {
        printError(Self.helpMessage())
        throw ExitCode(64)
    }
}

/// `--config` on every command.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The configuration file (default: \(Settings.defaultPath)).", valueName: "PATH"))
    var config: String?

    /// The settings, or a `CommandFailure` (exit 78, EX_CONFIG: the error on stderr, with `--json` also a document).
    /// A near miss of a key in the environment (ECSVPCD_RESTRAT) is ignored with a warning on stderr (`ecsvpcd run`
    /// also logs it to the journal).
    func load() throws -> Settings {
        do {
            let (settings, warnings) = try SettingsLoader.loadReportingWarnings(
                path: config ?? Settings.defaultPath, explicit: config != nil
            )
            for warning in warnings { printError("ecsvpcd: configuration warning: \(warning)") }
            return settings
        } catch {
            throw CommandFailure.configuration(error)
        }
    }
}

extension ConfigOptions {
    /// For `status`, `reprobe` and `restart-agent`, which only talk to the running daemon: never exits 78. A bad
    /// edit that the daemon refused on reload is exactly when an admin needs `status`, so the settings hold the
    /// keys that parse and defaults for the rest, and the runner shows the problems (stderr and the table).
    func loadForClient() -> (settings: Settings, problems: [ConfigurationError]) {
        let (settings, warnings, problems) = SettingsLoader.loadKeepingGoodKeys(
            path: config ?? Settings.defaultPath, explicit: config != nil
        )
        for warning in warnings { printError("ecsvpcd: configuration warning: \(warning)") }
        return (settings, problems)
    }
}

func printError(_ text: String) {
    writeAll(STDERR_FILENO, text + "\n")
}

/// Writes all of `text` to a file descriptor (stdout, stderr), retrying short writes.
func writeAll(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if written < 0 && errno == EINTR { continue }
        guard written > 0 else { return }
        bytes = bytes.dropFirst(written)
    }
}

func printJSON(_ document: StatusDocument) throws {
    let data = try StatusDocument.encoder().encode(document)
    writeAll(STDOUT_FILENO, String(decoding: data, as: UTF8.self) + "\n")
}

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Observe once now: DNS routes, TCP reachability of every address, findings. Never restarts anything.",
        discussion: "Exit code: 0 ok, 1 warning, 2 critical, 3 unknown."
    )

    @OptionGroup var options: ConfigOptions
    @Flag(name: .long, help: "Print the status document (schema 1) as JSON.") var json = false

    func run() async throws {
        let settings = try options.load()
        let environment: ObservationEnvironment
        do {
            environment = try ObservationEnvironment(settings: settings)
        } catch {
            throw CommandFailure.configuration(error)
        }
        let document: StatusDocument
        do {
            document = try await Check(environment: environment).run()
        } catch {
            throw CommandFailure.instanceContext(error, command: "check", exitCode: Health.unknown.exitCode)
        }
        if json {
            try printJSON(document)
        } else {
            print(StatusTable(color: StatusTable.wantsColor(), probePort: settings.probePort).render(document), terminator: "")
        }
        throw ExitCode(document.health.exitCode)
    }
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")

    /// What `ecsvpcd version` and `ecsvpcd --version` print.
    static let line = "ecsvpcd \(ECSVPCDVersion.current)"

    /// Taken and not read, and not shown in the help: `--config PATH` is accepted on every command (the interface
    /// contract), as `chronyd -f FILE --version` and `systemctl --root=DIR --version` take theirs and print the version.
    @OptionGroup(visibility: .hidden) var options: ConfigOptions

    func run() {
        print(Self.line)
    }
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the daemon in the foreground (systemd Type=notify).",
        discussion: "Exit code: 0 after SIGTERM; 78 for a bad configuration."
    )

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let settings = try options.load()
        let destination = LogDestination(rawValue: settings.log) ?? .auto
        LoggingSystem.bootstrap { label in destination.makeHandler(label: label) }
        let logger = Logger(label: "ecsvpcd")
        // Tests only (the fault soak steps the daemon's wall clock back and forward across its restarts): seconds
        // added to every time the daemon reads. Never set on an instance; not a setting, so not in the README's table.
        let clockOffset = getenv("ECSVPCD_TEST_CLOCK_OFFSET").flatMap { Double(String(cString: $0)) } ?? 0
        if clockOffset != 0 { logger.warning("ECSVPCD_TEST_CLOCK_OFFSET: the daemon's clock is off by \(clockOffset) s (tests only)") }
        let daemon = Daemon(
            settings: settings,
            configPath: options.config ?? Settings.defaultPath,
            configExplicit: options.config != nil,
            notifier: SystemdNotifier(),
            logger: logger,
            now: { Date().addingTimeInterval(clockOffset) }
        )
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: daemon)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch {
            logger.critical("ecsvpcd stopped on an error: \(error)")
            throw ExitCode(1)
        }
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the running daemon's view: routes, agent, restart state, findings.",
        discussion: "Exit code: the health code (0 ok, 1 warning, 2 critical, 3 unknown); 3 when no daemon runs."
    )

    @OptionGroup var options: ConfigOptions
    @Flag(name: .long, help: "Print the status document (schema 1) as JSON.") var json = false

    func run() async throws {
        let output = await StatusCommandRunner(configuration: options.loadForClient()).status(json: json)
        try finish(output)
    }
}

struct ReprobeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reprobe", abstract: "Ask the running daemon to observe now (root only)."
    )

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        try finish(await StatusCommandRunner(configuration: options.loadForClient()).reprobe())
    }
}

struct RestartAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart-agent",
        abstract: "Ask the running daemon to restart the agent now (root only).",
        discussion: "Skips the restart slot, never the safety checks, the cooldown or the budget."
    )

    @OptionGroup var options: ConfigOptions
    @Option(name: .long, help: "Why, for the journal.") var reason: String?

    func run() async throws {
        try finish(await StatusCommandRunner(configuration: options.loadForClient()).restartAgent(reason: reason))
    }
}

func finish(_ output: CommandOutput) throws {
    if !output.standardOutput.isEmpty { writeAll(STDOUT_FILENO, output.standardOutput) }
    if !output.standardError.isEmpty { writeAll(STDERR_FILENO, output.standardError) }
    throw ExitCode(output.exitCode)
}

struct RolloutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout",
        abstract: "One-shot for fleet tools: observe, restart the agent if needed, verify.",
        discussion: """
            Exit code: 0 restarted and verified, or the agent already uses the endpoints; 1 the restart failed \
            verification (or cooldown/budget/lock prevented it); 2 this instance does not see usable endpoints \
            (public, partial, unresolved, not accepting connections) or the agent cannot be restarted safely.
            """
    )

    @OptionGroup var options: ConfigOptions
    @Flag(name: .long, help: "Print the outcome as a JSON document.") var json = false
    @Option(name: .long, help: ArgumentHelp("Wait a random time up to D first (e.g. 5m).", valueName: "D"))
    var maxWait: String = "0"
    @Option(
        name: .long,
        help: ArgumentHelp(
            "How long the restarted agent has to come back connected through the endpoints.",
            valueName: "D"
        )
    )
    var verifyTimeout: String = "2m"

    func run() async throws {
        let settings = try options.load()
        guard let wait = DurationText.parse(maxWait) else {
            throw CommandFailure.usage("--max-wait \(maxWait) is not a duration (e.g. 30s, 5m)", command: "rollout")
        }
        guard let verifyDeadline = DurationText.parse(verifyTimeout), verifyDeadline > .zero else {
            throw CommandFailure.usage(
                "--verify-timeout \(verifyTimeout) is not a positive duration (e.g. 90s, 2m)", command: "rollout"
            )
        }
        let destination = LogDestination(rawValue: settings.log) ?? .auto
        LoggingSystem.bootstrap { label in destination.makeHandler(label: label) }
        let outcome = await Rollout(settings: settings, logger: Logger(label: "ecsvpcd"), verifyDeadline: verifyDeadline)
            .run(maxWait: wait)
        if json {
            writeAll(STDOUT_FILENO, try outcome.jsonLine() + "\n")
        } else {
            print("\(outcome.result): \(outcome.message)")
        }
        throw ExitCode(outcome.exitCode)
    }
}

struct RolloutReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout-report",
        abstract: "How far a Run Command rollout got: a table by result, from list-command-invocations --details.",
        discussion: """
            Reads the JSON of `aws ssm list-command-invocations --details --output json` for the rollout command \
            (a file, or - for stdin) and prints how many instances were restarted and verified, were already on the \
            endpoints, have no usable endpoints, failed verification, wait for cooldown, were not reached, or failed \
            to run, with the instance ids and reasons of each that did not succeed. Exit code: 0 every instance \
            succeeded; 1 otherwise; 65 the input is not that JSON (the message names the bad element); 66 it \
            cannot be read.
            """
    )

    /// Taken and not read: `--config PATH` is accepted on every command, as the contract says.
    @OptionGroup var options: ConfigOptions
    @Argument(help: ArgumentHelp("The list-command-invocations JSON, or - for stdin.", valueName: "FILE"))
    var input: String = "-"
    @Flag(name: .long, help: "Print the report as a JSON document.") var json = false
    @Option(name: .long, help: ArgumentHelp("Report this command (default: the newest of the document).", valueName: "ID"))
    var commandId: String?
    @Option(name: .long, help: ArgumentHelp("The rollout document's name.", valueName: "NAME"))
    var document: String = "ecsvpcd-rollout"

    func run() throws {
        try finish(RolloutReportRunner.run(input: input, json: json, commandId: commandId, documentName: document))
    }
}
