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
        let settings = try SettingsParser.parse(file: file, environment: environment)
        return (settings, SettingsParser.environmentWarnings(environment))
    }
}
