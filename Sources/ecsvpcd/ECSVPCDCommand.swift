import ArgumentParser
import ECSVPCCore
import ECSVPCD
import Foundation

@main
struct ECSVPCDCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ecsvpcd",
        abstract: "Moves the ECS agent onto the Amazon ECS interface VPC endpoints, safely, across a fleet.",
        version: ECSVPCDVersion.current,
        subcommands: [CheckCommand.self, VersionCommand.self]
    )
}

/// `--config` on every command.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The configuration file.", valueName: "PATH"))
    var config: String?

    /// The settings, or exit 78 (EX_CONFIG) with the error on stderr.
    func load() throws -> Settings {
        do {
            return try SettingsLoader.load(path: config ?? Settings.defaultPath, explicit: config != nil)
        } catch {
            printError("ecsvpcd: configuration error: \(error)")
            throw ExitCode(78)
        }
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

func printJSON(_ document: StatusDocument) throws {
    let data = try StatusDocument.encoder().encode(document)
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Observe once now: DNS routes, TCP \(443) reachability, findings. Never restarts anything.",
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

    func run() {
        print("ecsvpcd \(ECSVPCDVersion.current)")
    }
}
