import ECSVPCCore

/// Reads the agent's own settings files (`ECSVPCD_AGENT_CONFIG`, in order, later files winning): ecs.config files,
/// and `.json` paths as the agent's ecs.config.json; with the instance's user data when it is given.
public struct AgentSettingsReader: Sendable {
    public var paths: [String]

    public init(paths: [String] = ["/var/lib/ecs/ecs.config", "/etc/ecs/ecs.config", "/etc/ecs/ecs.config.json"]) {
        self.paths = paths
    }

    /// The merged settings and what could not be read. Missing files are skipped silently (most instances
    /// have only one of them); unreadable files, bad lines and JSON the agent would refuse are named with the reason.
    ///
    /// - Parameter userData: the instance's raw user data (`InstanceUserData.fetch`), nil when there is none or it
    ///   is not known. The agent reads its `{"ECSAgentConfiguration": {...}}` below ecs.config and ecs.config.json;
    ///   user data that is not JSON (a shell script, most often) is simply no configuration.
    public func read(userData: String? = nil) -> (settings: AgentSettings, problems: [String]) {
        var files: [(path: String, values: [AgentConfigText.Value])] = []
        var json: [(path: String, config: AgentJSONConfig)] = []
        var problems: [String] = []
        for path in paths {
            let text: String
            do {
                text = try SystemFile.readText(path)
            } catch {
                if !error.isMissing { problems.append("cannot read \(error)") }
                continue
            }
            if path.hasSuffix(".json") {
                do {
                    json.append((path, try AgentJSONConfig.file(text)))
                } catch {
                    // agent/config/config.go fileConfig's error makes NewConfig fail: agent/app/run.go exits 1.
                    problems.append("\(path): \(error): the agent cannot load its config and exits at start")
                    json.append((path, AgentJSONConfig()))
                }
                continue
            }
            let parsed = AgentConfigText.parse(text)
            problems += parsed.problems.map { "\(path): \($0)" }
            files.append((path, parsed.values))
        }
        var fromUserData: AgentJSONConfig?
        if let userData {
            do {
                fromUserData = try AgentJSONConfig.userData(userData)
            } catch {
                problems.append("user data: \(error): the agent ignores its whole ECSAgentConfiguration")
            }
        }
        let resolved = AgentConfigText.resolve(files: files, json: json, userData: fromUserData)
        return (resolved.settings, problems + resolved.problems)
    }
}
