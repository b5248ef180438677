import ECSVPCCore

/// Reads the agent's own settings files (`ECSVPCD_AGENT_CONFIG`, in order, later files winning).
public struct AgentSettingsReader: Sendable {
    public var paths: [String]

    public init(paths: [String] = ["/var/lib/ecs/ecs.config", "/etc/ecs/ecs.config"]) {
        self.paths = paths
    }

    /// The merged settings and what could not be read. Missing files are skipped silently (most instances
    /// have only one of them); unreadable files and bad lines are named with the reason.
    public func read() -> (settings: AgentSettings, problems: [String]) {
        var files: [(path: String, values: [(String, String)])] = []
        var problems: [String] = []
        for path in paths {
            let text: String
            do {
                text = try SystemFile.readText(path)
            } catch {
                if !error.isMissing { problems.append("cannot read \(error)") }
                continue
            }
            let parsed = AgentConfigText.parse(text)
            problems += parsed.problems.map { "\(path): \($0)" }
            files.append((path, parsed.values))
        }
        return (AgentConfigText.settings(from: files), problems)
    }
}
