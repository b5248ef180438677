import ECSVPCCore
import FoundationEssentials

/// Why a command could not give its answer, what to do about it, and its exit code.
///
/// The text goes to stderr as before (`prefix: message`). With `--json`, `check`, `status` and `rollout` also print
/// it on stdout as a JSON document (`ErrorDocument`, or the rollout outcome with its `error`), so that a script
/// piping into jq never reads an empty stdin.
public struct CommandFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// Stable, kebab-case: `configuration-invalid`, `instance-context-unknown`, `daemon-not-running`, ... (README,
    /// "Errors as JSON").
    public var id: String
    public var message: String
    public var hint: String
    public var exitCode: Int32
    /// The stderr line's first words: `ecsvpcd: configuration error`, `ecsvpcd check`.
    public var prefix: String

    public init(id: String, message: String, hint: String, exitCode: Int32, prefix: String) {
        self.id = id
        self.message = message
        self.hint = hint
        self.exitCode = exitCode
        self.prefix = prefix
    }

    /// What stderr shows.
    public var description: String { "\(prefix): \(message)" }

    public var detail: ErrorDocument.Detail { ErrorDocument.Detail(id: id, message: message, hint: hint) }

    /// A configuration that cannot be used (exit 78, EX_CONFIG).
    public static func configuration(_ error: any Error) -> CommandFailure {
        CommandFailure(
            id: "configuration-invalid", message: "\(error)",
            hint: "fix the file or key named (see `man 8 ecsvpcd`, CONFIGURATION), or give another file with --config PATH",
            exitCode: 78, prefix: "ecsvpcd: configuration error"
        )
    }

    /// The instance context could not be learned (instance metadata refused or unreachable, and no setting gives it).
    public static func instanceContext(_ error: any Error, command: String, exitCode: Int32) -> CommandFailure {
        CommandFailure(
            id: "instance-context-unknown", message: "\(error)",
            hint: "instance metadata (IMDSv2) must answer this host (a container needs a hop limit of 2), or set the "
                + "values named above in /etc/ecsvpcd/ecsvpcd.conf",
            exitCode: exitCode, prefix: "ecsvpcd \(command)"
        )
    }

    /// A command line that does not parse, or an option value that is not valid (exit 64, EX_USAGE).
    public static func usage(_ message: String, command: String) -> CommandFailure {
        CommandFailure(
            id: "usage", message: message, hint: "see `ecsvpcd \(command) --help`", exitCode: 64, prefix: "ecsvpcd \(command)"
        )
    }
}

/// What `check --json` and `status --json` print when they have no status document to print: schema 1, the
/// command, health `unknown`, the exit code, and the error. A reader tells the two apart by `error`.
public struct ErrorDocument: Sendable, Hashable, Codable {
    public struct Detail: Sendable, Hashable, Codable {
        public var id: String
        public var message: String
        public var hint: String

        public init(id: String, message: String, hint: String) {
            self.id = id
            self.message = message
            self.hint = hint
        }
    }

    public var schema: Int
    /// `check` or `status`.
    public var source: String
    public var health: Health
    public var exitCode: Int32
    public var error: Detail

    public init(source: String, failure: CommandFailure) {
        schema = StatusDocument.currentSchema
        self.source = source
        health = .unknown
        exitCode = failure.exitCode
        error = failure.detail
    }

    /// Pretty-printed, as the status document, with a final newline.
    public func json() -> String {
        guard let data = try? StatusDocument.encoder().encode(self) else {
            return "{\"schema\":1,\"error\":{\"id\":\"internal\",\"message\":\"cannot encode the error\",\"hint\":\"\"}}\n"
        }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
