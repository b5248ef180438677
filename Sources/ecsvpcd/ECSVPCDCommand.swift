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
        version: ECSVPCDVersion.current,
        subcommands: [
            RunCommand.self, CheckCommand.self, StatusCommand.self, ReprobeCommand.self, RestartAgentCommand.self,
            RolloutCommand.self, VersionCommand.self,
        ]
    )

    /// Parses and runs the command on one event loop thread (`SingleLoopRuntime`).
    static func main() async {
        await SingleLoopRuntime.run { await Self.main(nil) }
    }
}

/// `--config` on every command.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The configuration file.", valueName: "PATH"))
    var config: String?

    /// The settings, or exit 78 (EX_CONFIG) with the error on stderr. A near miss of a key in the environment
    /// (ECSVPCD_RESTRAT) is ignored with a warning on stderr (`ecsvpcd run` also logs it to the journal).
    func load() throws -> Settings {
        do {
            let (settings, warnings) = try SettingsLoader.loadReportingWarnings(
                path: config ?? Settings.defaultPath, explicit: config != nil
            )
            for warning in warnings { printError("ecsvpcd: configuration warning: \(warning)") }
            return settings
        } catch {
            printError("ecsvpcd: configuration error: \(error)")
            throw ExitCode(78)
        }
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
            printError("ecsvpcd: configuration error: \(error)")
            throw ExitCode(78)
        }
        let document: StatusDocument
        do {
            document = try await Check(environment: environment).run()
        } catch {
            printError("ecsvpcd check: \(error)")
            throw ExitCode(Health.unknown.exitCode)
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

    /// Taken and not read: `--config PATH` is accepted on every command, as the contract says.
    @OptionGroup var options: ConfigOptions

    func run() {
        print("ecsvpcd \(ECSVPCDVersion.current)")
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
        let output = await StatusCommandRunner(settings: try options.load()).status(json: json)
        try finish(output)
    }
}

struct ReprobeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reprobe", abstract: "Ask the running daemon to observe now (root only)."
    )

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        try finish(await StatusCommandRunner(settings: try options.load()).reprobe())
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
        try finish(await StatusCommandRunner(settings: try options.load()).restartAgent(reason: reason))
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
            printError("ecsvpcd rollout: --max-wait \(maxWait) is not a duration (e.g. 30s, 5m)")
            throw ExitCode(64)
        }
        guard let verifyDeadline = DurationText.parse(verifyTimeout), verifyDeadline > .zero else {
            printError("ecsvpcd rollout: --verify-timeout \(verifyTimeout) is not a positive duration (e.g. 90s, 2m)")
            throw ExitCode(64)
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
