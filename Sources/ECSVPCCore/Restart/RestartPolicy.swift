/// The limits on restarting the agent, from the configuration.
public struct RestartPolicy: Hashable, Sendable {
    public var mode: RestartMode
    /// Consecutive observations of the same endpoint configuration before it counts as confirmed.
    public var stableProbes: Int
    /// Restarts across a fleet spread over this window after confirmation.
    public var window: Duration
    public var cooldown: Duration
    /// Restarts allowed in any 24 hours, failed ones included.
    public var budget: Int

    public init(mode: RestartMode, stableProbes: Int, window: Duration, cooldown: Duration, budget: Int) {
        self.mode = mode
        self.stableProbes = stableProbes
        self.window = window
        self.cooldown = cooldown
        self.budget = budget
    }

    public init(_ settings: Settings) {
        self.init(
            mode: settings.restart,
            stableProbes: settings.stableProbes,
            window: settings.restartWindow,
            cooldown: settings.restartCooldown,
            budget: settings.restartBudget
        )
    }
}
