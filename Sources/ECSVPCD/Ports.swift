import ECSVPCCore

// The small protocols each adapter sits behind, so tests can put a real peer or a fake behind them.

/// Resolves one name to its A and AAAA addresses the way the agent's resolver would.
public protocol NameResolving: Sendable {
    func resolve(_ name: String) async -> NameResolution
}

/// Connects to every address on a port, all in parallel, each bounded by `timeout`.
public protocol TCPProbing: Sendable {
    func probe(_ addresses: [IPAddress], port: Int, timeout: Duration) async -> [IPAddress: ProbeOutcome]
}

/// Reads the agent's container, introspection, settings and live connections.
public protocol AgentObserving: Sendable {
    func observe() async -> AgentObservation
}

/// Restarts (or starts) the agent through systemd or the Docker Engine.
public protocol AgentSupervising: Sendable {
    /// The path a restart would take now, with a sentence saying why.
    func restartPath() async -> (RestartPath?, String)
    /// Restarts the agent in one call, so that dying half-way never leaves it stopped.
    func restart(via path: RestartPath) async throws
    /// Starts the agent if it is not running (recovery after a crash mid-restart).
    func start(via path: RestartPath) async throws
}
