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
    /// Since when the decision waits for the agent to move to the endpoints by itself (`waiting-own-move`); the
    /// move, once seen, is recorded as `moved-by-itself`.
    public var waitingOwnMoveSince: Date?
    /// A verified restart in its settle time: it stays verified only if the agent is still running and on the
    /// endpoints after it; otherwise it becomes `lost-after-restart`.
    public var settling: Settling?

    /// The restart (its record's `at`) being watched, until when, and over how many cycles so far.
    public struct Settling: Hashable, Sendable, Codable {
        public var restartAt: Date
        public var until: Date
        public var cycles: Int

        public init(restartAt: Date, until: Date, cycles: Int = 0) {
            self.restartAt = restartAt
            self.until = until
            self.cycles = cycles
        }
    }

    /// How long a verified restart is watched, and over at least how many cycles, before it stays verified.
    public static let settleTime: TimeInterval = 15
    public static let settleCycles = 2

    public init() {}

    /// The records of restarts, without the moves the agent made by itself.
    public var restarts: [StatusDocument.RestartRecord] {
        history.filter { $0.result != StatusDocument.RestartRecord.movedByItself }
    }

    /// Restarts (any result) in the 24 hours before `now`; a move the agent made by itself is no restart.
    public func restartsInLastDay(before now: Date) -> [StatusDocument.RestartRecord] {
        restarts.filter { now.timeIntervalSince($0.at) < 86400 }
    }

    /// Keeps the history bounded: the last day plus the last 20 entries, whichever is more.
    public mutating func trim(now: Date) {
        let recent = restartsInLastDay(before: now).count
        let keep = max(20, recent)
        if history.count > keep { history.removeFirst(history.count - keep) }
    }
}

extension RestartLedger {
    /// What one more look at a restarted agent in its settle time made of the restart.
    public enum SettleOutcome: Hashable, Sendable {
        /// Still in its settle time, so far so good.
        case watching
        /// Settled: running and on the endpoints over the whole settle time; the record says `verified`.
        case verified(StatusDocument.RestartRecord)
        /// Stopped, or back on public addresses, within the settle time: the record says `lost-after-restart`.
        case lost(StatusDocument.RestartRecord)
    }

    /// Judges a `settling` restart by one observation of the agent; nil when no restart is settling.
    ///
    /// A verified restart stays verified only if the agent is still running and not back on public addresses
    /// after `settleTime` and `settleCycles` observations: ecs-init's ExecStop can stop an agent a few seconds
    /// after a restart that looked fine (a `docker restart` under ecs-init).
    public mutating func settle(now: Date, running: Bool, connections: AgentConnectionState) -> SettleOutcome? {
        guard var watching = settling else { return nil }
        guard let index = history.lastIndex(where: { $0.at == watching.restartAt && $0.result == StatusDocument.RestartRecord.settling })
        else {
            settling = nil
            return nil
        }
        var record = history[index]
        guard running, connections != .public else {
            record.result = StatusDocument.RestartRecord.lostAfterRestart
            let what = running ? "its connections went back to public addresses" : "the agent stopped"
            record.detail = (record.detail.map { $0 + "; then " } ?? "") + what + " within the settle time (\(now))"
            history[index] = record
            settling = nil
            return .lost(record)
        }
        watching.cycles += 1
        guard watching.cycles >= Self.settleCycles, now >= watching.until else {
            settling = watching
            return .watching
        }
        record.result = "verified"
        history[index] = record
        settling = nil
        return .verified(record)
    }
}
