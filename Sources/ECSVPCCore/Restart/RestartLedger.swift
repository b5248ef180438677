import FoundationEssentials

/// What the restart decision remembers across observations and daemon restarts (persisted in the state file).
public struct RestartLedger: Hashable, Sendable, Codable {
    /// A restart that was started and not yet verified: if ecsvpcd dies, the next start finishes the job.
    public struct InFlight: Hashable, Sendable, Codable {
        public var startedAt: Date
        public var via: String
        public var reason: String
        /// The agent's StartedAt before the restart, to tell that it really restarted.
        public var previousAgentStart: Date?

        public init(startedAt: Date, via: String, reason: String, previousAgentStart: Date?) {
            self.startedAt = startedAt
            self.via = via
            self.reason = reason
            self.previousAgentStart = previousAgentStart
        }
    }

    /// Fingerprint of the endpoint configuration being confirmed or confirmed.
    public var configurationKey: String?
    /// Consecutive observations with that configuration.
    public var consecutive: Int = 0
    /// When the configuration reached `stableProbes` consecutive observations.
    public var confirmedAt: Date?
    /// When an endpoint configuration was first confirmed. Unlike `confirmedAt` it survives a partial or
    /// unresolved observation (one SERVFAIL) and a change of the endpoints' addresses; it is cleared only once
    /// the names resolve to public addresses again on `stableProbes` observations (the endpoints were removed).
    /// An agent that started after it is not restarted on its start time alone.
    public var firstConfirmedAt: Date?
    public var history: [StatusDocument.RestartRecord] = []
    public var inFlight: InFlight?

    public init() {}

    /// Restarts (any result) in the 24 hours before `now`.
    public func restartsInLastDay(before now: Date) -> [StatusDocument.RestartRecord] {
        history.filter { now.timeIntervalSince($0.at) < 86400 }
    }

    /// Keeps the history bounded: the last day plus the last 20 entries, whichever is more.
    public mutating func trim(now: Date) {
        let recent = restartsInLastDay(before: now).count
        let keep = max(20, recent)
        if history.count > keep { history.removeFirst(history.count - keep) }
    }
}
