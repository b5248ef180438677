import ECSVPCCore
import FoundationEssentials
import Glibc

/// Reads the configuration file and the environment into `Settings`.
public enum SettingsLoader {
    /// `explicit` is true when the path came from `--config`: then a missing file is an error; the default
    /// path may be absent (every key has a default). Drops the warnings of `loadReportingWarnings`.
    public static func load(
        path: String,
        explicit: Bool,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationError) -> Settings {
        try loadReportingWarnings(path: path, explicit: explicit, environment: environment).settings
    }

    /// As `load`, with what was ignored but looks like a mistake, for the caller to log (`ecsvpcd run`: the
    /// journal; the one-shot commands: stderr): an `ECSVPCD_` variable in the environment that is no setting,
    /// with the key it most likely meant.
    public static func loadReportingWarnings(
        path: String,
        explicit: Bool,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationError) -> (settings: Settings, warnings: [ConfigurationError]) {
        let file = try readFile(path: path, explicit: explicit)
        let settings = try SettingsParser.parse(file: file, environment: environment)
        return (settings, SettingsParser.environmentWarnings(environment))
    }

    /// For the clients of a running daemon (`status`, `reprobe`, `restart-agent`): never fails. The settings hold
    /// what parses of the file and the environment and defaults for the rest (the environment alone when the file
    /// cannot be read); `problems` are the errors `load` would have stopped at, for the caller to show.
    public static func loadKeepingGoodKeys(
        path: String,
        explicit: Bool,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> (settings: Settings, warnings: [ConfigurationError], problems: [ConfigurationError]) {
        let warnings = SettingsParser.environmentWarnings(environment)
        var file: (path: String, text: String)?
        var unreadable: [ConfigurationError] = []
        do {
            file = try readFile(path: path, explicit: explicit)
        } catch {
            unreadable = [error]
        }
        let (settings, problems) = SettingsParser.parseKeepingGoodKeys(file: file, environment: environment)
        return (settings, warnings, unreadable + problems)
    }

    /// The file's text; nil when the default path is absent (every key has a default).
    private static func readFile(path: String, explicit: Bool) throws(ConfigurationError) -> (path: String, text: String)? {
        var file: (path: String, text: String)?
        if FileManager.default.fileExists(atPath: path) {
            let data: Data
            do {
                data = Data(try SystemFile.read(path))
            } catch {
                throw ConfigurationError(
                    code: .unreadable, source: path, line: nil, key: nil,
                    detail: "cannot read the file (\(String(cString: strerror(error.errno)))); check its permissions"
                )
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw ConfigurationError(
                    code: .unreadable, source: path, line: nil, key: nil,
                    detail: "the file is not UTF-8 text"
                )
            }
            file = (path, text)
        } else if explicit {
            throw ConfigurationError(
                code: .unreadable, source: path, line: nil, key: nil,
                detail: "no such file; give an existing file with --config or leave it out for the defaults"
            )
        }
        return file
    }
}
