import ECSVPCCore
import FoundationEssentials
import Glibc

/// What a command prints and how it exits, so the executable only writes and exits.
public struct CommandOutput: Sendable, Hashable {
    public var standardOutput: String
    public var standardError: String
    public var exitCode: Int32

    public init(standardOutput: String = "", standardError: String = "", exitCode: Int32) {
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.exitCode = exitCode
    }
}

/// `ecsvpcd status`, `ecsvpcd reprobe` and `ecsvpcd restart-agent`: the client side of the control socket.
///
/// `status` exits with the health code (0 ok, 1 warning, 2 critical, 3 unknown); without a daemon it shows
/// the last saved status and exits 3. The actions exit 0 when the daemon accepted them, 1 when it refused
/// or failed, 3 when no daemon answered.
public struct StatusCommandRunner: Sendable {
    public var socketPath: String
    public var stateDir: String
    public var statusGroup: String
    public var probePort: Int
    public var color: Bool
    public var statusTimeout: Duration = .seconds(5)
    /// Actions may wait on the daemon's own work (a restart goes through the supervisor).
    public var actionTimeout: Duration = .seconds(60)
    /// What was wrong with the configuration this command read (`SettingsLoader.loadKeepingGoodKeys`): shown as a
    /// warning before the answer, on stderr and in the table. The daemon keeps the configuration it last loaded.
    public var configurationProblems: [ConfigurationError] = []

    public init(socketPath: String, stateDir: String, statusGroup: String, probePort: Int, color: Bool) {
        self.socketPath = socketPath
        self.stateDir = stateDir
        self.statusGroup = statusGroup
        self.probePort = probePort
        self.color = color
    }

    /// The paths, group and port from the configuration; colour as `StatusTable.wantsColor()` decides.
    public init(settings: Settings, color: Bool = StatusTable.wantsColor()) {
        self.init(
            socketPath: settings.controlSocket, stateDir: settings.stateDir, statusGroup: settings.statusGroup,
            probePort: settings.probePort, color: color
        )
    }

    /// The settings and problems of `SettingsLoader.loadKeepingGoodKeys`.
    public init(
        configuration: (settings: Settings, problems: [ConfigurationError]), color: Bool = StatusTable.wantsColor()
    ) {
        self.init(settings: configuration.settings, color: color)
        configurationProblems = configuration.problems
    }

    /// `ecsvpcd status [--json]`: the configuration's problems, if any, then the answer.
    public func status(json: Bool, now: Date = Date()) async -> CommandOutput {
        var output = await answerStatus(json: json, now: now)
        guard !configurationProblems.isEmpty else { return output }
        output.standardError = configurationWarning + output.standardError
        return output
    }

    /// Says what is wrong with the file, that the daemon is not affected, and how to fix it.
    var configurationWarning: String {
        let lines = configurationProblems.prefix(5).map { "ecsvpcd: configuration error: \($0)\n" }.joined()
        let more = configurationProblems.count > 5 ? "ecsvpcd: … and \(configurationProblems.count - 5) more\n" : ""
        return lines + more
            + "ecsvpcd: warning: asked the daemon with the keys that parse and defaults for the rest; a running "
            + "daemon keeps the configuration it last loaded. Fix the file, then: systemctl reload ecsvpcd\n"
    }

    /// The daemon's answer (or the saved status). With `--json` a failure is an `ErrorDocument` on stdout too,
    /// never an empty stdout.
    private func answerStatus(json: Bool, now: Date) async -> CommandOutput {
        do {
            switch try await ControlClient(path: socketPath).send(.status, timeout: statusTimeout) {
            case .status(let document):
                return CommandOutput(standardOutput: render(document, json: json, now: now), exitCode: document.health.exitCode)
            case .failure(let failure):
                return statusFailure(
                    "daemon-refused", "the daemon refused: \(failure.message)",
                    hint: "see journalctl -u ecsvpcd", json: json
                )
            case .done(let message):
                return statusFailure(
                    "unexpected-reply", "unexpected reply: \(message)",
                    hint: "the ecsvpcd command and the running daemon may differ in version: systemctl restart ecsvpcd",
                    json: json
                )
            }
        } catch where error.code == .notRunning {
            return savedStatus(json: json, now: now)
        } catch {
            let (id, hint) =
                switch error.code {
                case .notAllowed: ("not-allowed", "run with sudo, or join the group \(statusGroup)")
                case .timeout: ("daemon-timeout", "see systemctl status ecsvpcd and journalctl -u ecsvpcd")
                default: ("control-socket-error", "see systemctl status ecsvpcd and journalctl -u ecsvpcd")
                }
            return statusFailure(id, explain(error), hint: hint, json: json)
        }
    }

    /// A `status` that has no document to show: the text on stderr, and with `--json` an `ErrorDocument` on stdout.
    private func statusFailure(
        _ id: String, _ message: String, hint: String, json: Bool, stderr: String? = nil
    ) -> CommandOutput {
        let failure = CommandFailure(
            id: id, message: message, hint: hint, exitCode: Health.unknown.exitCode, prefix: "ecsvpcd status"
        )
        return CommandOutput(
            standardOutput: json ? ErrorDocument(source: "status", failure: failure).json() : "",
            standardError: (stderr ?? failure.description) + "\n", exitCode: failure.exitCode
        )
    }

    /// `ecsvpcd reprobe`.
    public func reprobe() async -> CommandOutput {
        await act(.reprobe)
    }

    /// `ecsvpcd restart-agent [--reason TEXT]`.
    public func restartAgent(reason: String?) async -> CommandOutput {
        await act(.restartAgent(reason: reason ?? ControlRequest.defaultRestartReason))
    }

    private func act(_ request: ControlRequest) async -> CommandOutput {
        var output = await send(request)
        output.standardError = (configurationProblems.isEmpty ? "" : configurationWarning) + output.standardError
        return output
    }

    private func send(_ request: ControlRequest) async -> CommandOutput {
        let name = "ecsvpcd \(request.command)"
        do {
            switch try await ControlClient(path: socketPath).send(request, timeout: actionTimeout) {
            case .done(let message):
                return CommandOutput(standardOutput: message + "\n", exitCode: 0)
            case .failure(let failure):
                let verb = failure.code == .failed ? "failed" : "refused (\(failure.code))"
                return CommandOutput(standardError: "\(name): \(verb): \(failure.message)\n", exitCode: 1)
            case .status:
                return CommandOutput(standardError: "\(name): unexpected reply: a status document\n", exitCode: 1)
            }
        } catch {
            return CommandOutput(standardError: "\(name): \(explain(error))\n", exitCode: error.code == .notAllowed ? 1 : 3)
        }
    }

    private func savedStatus(json: Bool, now: Date) -> CommandOutput {
        let notice = "ecsvpcd is not running (no control socket at \(socketPath))"
        let unknown = Health.unknown.exitCode
        switch SavedStatus.read(stateDir: stateDir, now: now) {
        case .absent:
            let saved = "no saved status either (\(SavedStatus.path(stateDir: stateDir)))"
            return statusFailure(
                "daemon-not-running", "\(notice); \(saved)",
                hint: "start it: systemctl start ecsvpcd (systemctl status ecsvpcd and journalctl -u ecsvpcd tell why "
                    + "it stopped); `ecsvpcd check` observes once without it",
                json: json, stderr: "\(notice)\n\(saved)"
            )
        case .unreadable(let message):
            return statusFailure(
                "saved-status-unreadable", "\(notice); \(message)",
                hint: "start it: systemctl start ecsvpcd; it writes the saved status again", json: json,
                stderr: "\(notice)\n\(message)"
            )
        case .loaded(var document, let age):
            document.source = "saved-state"
            let saved = "last saved status, \(DurationText.format(age)) old (\(StatusTable.clock(document.updatedAt))):"
            if json {
                return CommandOutput(
                    standardOutput: render(document, json: true, now: now), standardError: "\(notice)\n\(saved)\n",
                    exitCode: unknown
                )
            }
            return CommandOutput(
                standardOutput: "\(notice)\n\(saved)\n\n" + render(document, json: false, now: now), exitCode: unknown
            )
        }
    }

    private func render(_ document: StatusDocument, json: Bool, now: Date) -> String {
        guard json else {
            var table = StatusTable(color: color, probePort: probePort)
            if let first = configurationProblems.first {
                let more = configurationProblems.count > 1 ? " and \(configurationProblems.count - 1) more" : ""
                table.configurationFileProblem = "IN ERROR: \(first.source)\(first.line.map { ":\($0)" } ?? "")\(more) "
                    + "(see stderr); the daemon keeps the configuration it last loaded"
            }
            return table.render(document, now: now)
        }
        guard let data = try? StatusDocument.encoder().encode(document) else { return "" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    private func explain(_ error: ControlClientError) -> String {
        switch error.code {
        case .notRunning:
            "ecsvpcd is not running (no control socket at \(socketPath))"
        case .notAllowed:
            "not allowed to use \(socketPath): root or group \(statusGroup) only (run with sudo, or join the group)"
        case .timeout:
            "the daemon did not answer in time on \(socketPath) (\(error.detail)); is it stuck? see journalctl -u ecsvpcd"
        default:
            error.description
        }
    }
}
