import ArgumentParser
import ECSVPCCore
import ECSVPCD
import Glibc

/// The commands whose `--json` promises a JSON document on stdout in every case.
protocol JSONReporting {
    var json: Bool { get }
    /// `check`, `status`, `rollout`.
    static var jsonSource: String { get }
    /// The document for a failure: `ErrorDocument`, or for `rollout` its outcome line with `error`.
    static func jsonDocument(for failure: CommandFailure) -> String
}

extension JSONReporting {
    static func jsonDocument(for failure: CommandFailure) -> String {
        ErrorDocument(source: jsonSource, failure: failure).json()
    }
}

extension CheckCommand: JSONReporting {
    static var jsonSource: String { "check" }
}

extension StatusCommand: JSONReporting {
    static var jsonSource: String { "status" }
}

extension RolloutCommand: JSONReporting {
    static var jsonSource: String { "rollout" }
    static func jsonDocument(for failure: CommandFailure) -> String {
        (try? Rollout.Outcome(failure: failure).jsonLine()).map { $0 + "\n" }
            ?? ErrorDocument(source: jsonSource, failure: failure).json()
    }
}

/// ArgumentParser's `main`, and: a `CommandFailure` thrown by a command is its text on stderr (and with `--json`
/// its document on stdout) and its exit code; a command line that does not parse, given with `--json` to `check`,
/// `status` or `rollout`, is a `usage` document on stdout as well as ArgumentParser's message on stderr (exit 64).
enum CommandMain {
    static func jsonCommand(named name: String) -> (any JSONReporting.Type)? {
        switch name {
        case CheckCommand.jsonSource: CheckCommand.self
        case StatusCommand.jsonSource: StatusCommand.self
        case RolloutCommand.jsonSource: RolloutCommand.self
        default: nil
        }
    }

    static func run(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) async -> Never {
        var command: any ParsableCommand
        do {
            command = try ECSVPCDCommand.parseAsRoot(arguments)
        } catch {
            if ECSVPCDCommand.exitCode(for: error) != .success, let (name, reporting) = jsonRequested(arguments) {
                let failure = CommandFailure.usage(ECSVPCDCommand.message(for: error), command: name)
                writeAll(STDOUT_FILENO, reporting.jsonDocument(for: failure))
            }
            ECSVPCDCommand.exit(withError: error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as CommandFailure {
            printError(failure.description)
            if let reporting = command as? any JSONReporting, reporting.json {
                writeAll(STDOUT_FILENO, type(of: reporting).jsonDocument(for: failure))
            }
            exit(failure.exitCode)
        } catch {
            ECSVPCDCommand.exit(withError: error)
        }
        ECSVPCDCommand.exit()
    }

    /// `check`, `status` or `rollout` as the subcommand, and `--json` among the arguments (before a `--`).
    static func jsonRequested(_ arguments: [String]) -> (String, any JSONReporting.Type)? {
        let options = arguments.prefix { $0 != "--" }
        guard options.contains("--json"), let name = options.first(where: { !$0.hasPrefix("-") }),
            let reporting = jsonCommand(named: name)
        else { return nil }
        return (name, reporting)
    }
}
