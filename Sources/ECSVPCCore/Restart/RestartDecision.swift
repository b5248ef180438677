import FoundationEssentials

/// What one observation means for the agent: the outcome of the restart decision.
public enum RestartDecision: Hashable, Sendable {
    /// Nothing to do; the reason says why (public configuration, agent already on the endpoints, …).
    case idle(reason: String)
    /// The endpoint configuration was seen `seen` of `needed` consecutive times.
    case confirming(seen: Int, needed: Int)
    /// A restart is needed but unsafe or useless now; never acted on.
    case blocked(reason: String)
    /// Waiting for this instance's slot in the restart window.
    case scheduled(at: Date, reason: String)
    case coolingDown(until: Date, reason: String)
    case budgetSpent(until: Date, reason: String)
    /// `ECSVPCD_RESTART=never`: the restart that would have happened, and when.
    case pending(at: Date, reason: String)
    /// Restart now.
    case restart(reason: String)
    /// `ECSVPCD_RESTART=auto`: the agent will be on the endpoints by itself before this instance's slot (by
    /// `until`), so no restart is made; the move is verified when it happens.
    case waitingOwnMove(until: Date?, reason: String)

    /// The `restart.state` of the status document.
    public var state: String {
        switch self {
        case .idle: "idle"
        case .confirming: "confirming"
        case .blocked: "blocked"
        case .scheduled: "scheduled"
        case .coolingDown: "waiting-cooldown"
        case .budgetSpent: "budget-spent"
        case .pending: "pending"
        case .restart: "restarting"
        case .waitingOwnMove: "waiting-own-move"
        }
    }

    public var reason: String {
        switch self {
        case .idle(let reason), .blocked(let reason), .restart(let reason): reason
        case .scheduled(_, let reason), .coolingDown(_, let reason), .budgetSpent(_, let reason),
            .pending(_, let reason), .waitingOwnMove(_, let reason):
            reason
        case .confirming(let seen, let needed):
            "endpoint configuration seen \(seen) of \(needed) consecutive times"
        }
    }

    public var notBefore: Date? {
        switch self {
        case .scheduled(let at, _), .pending(let at, _): at
        case .coolingDown(let until, _), .budgetSpent(let until, _): until
        case .waitingOwnMove(let until, _): until
        default: nil
        }
    }
}

/// The restart decision: a pure state machine fed observations and the time.
///
/// Restarts only when the endpoint configuration is confirmed, every endpoint address accepts TCP, the agent runs,
/// does not use a proxy and still talks the old way, cooldown and budget allow, and this instance's slot came.
public struct RestartPlanner: Sendable {
    public var policy: RestartPolicy
    /// What identifies this instance in the fleet (the instance id); seeds the slot.
    public var seed: String

    public init(policy: RestartPolicy, seed: String) {
        self.policy = policy
        self.seed = seed
    }

    /// Decides on one observation and updates the ledger's confirmation state.
    ///
    /// - Parameters:
    ///   - configurationKey: a fingerprint of the endpoint configuration (the names' endpoint addresses).
    ///   - force: an operator's `restart-agent`: skips the slot, never the safety checks, cooldown or budget.
    public func decide(
        now: Date,
        configuration: EndpointConfiguration,
        configurationKey: String,
        endpointsAcceptConnections: Bool,
        agent: AgentFacts,
        ledger: inout RestartLedger,
        force: Bool = false
    ) -> RestartDecision {
        // Recorded times later than now (a wall clock stepped back, or one behind at boot before NTP) are kept as
        // they are: they only hold the slot, the cooldown and the budget longer, the safe way. Taking them as now
        // would lose a real cooldown when a clock behind at boot is set right later.

        // A state file from before firstConfirmedAt was kept: its confirmation is the first one known.
        if ledger.firstConfirmedAt == nil, let confirmed = ledger.confirmedAt { ledger.firstConfirmedAt = confirmed }

        // 1. Confirmation: the same endpoint configuration on stableProbes consecutive observations.
        guard configuration == .vpcEndpoints else {
            ledger.confirmedAt = nil
            ledger.waitingOwnMoveSince = nil
            if configuration == .public {
                // Counted like an endpoint configuration: once public is confirmed, the endpoints are gone and
                // the next endpoint configuration is a new one.
                if ledger.configurationKey != Self.publicKey {
                    ledger.configurationKey = Self.publicKey
                    ledger.consecutive = 0
                }
                if ledger.consecutive < policy.stableProbes {
                    ledger.consecutive = max(0, ledger.consecutive) + 1
                    if ledger.consecutive >= policy.stableProbes { ledger.firstConfirmedAt = nil }
                }
            } else {
                ledger.configurationKey = nil
                ledger.consecutive = 0
            }
            return .idle(reason: Self.idleReason(configuration))
        }
        if ledger.configurationKey != configurationKey {
            ledger.configurationKey = configurationKey
            ledger.consecutive = 0
            ledger.confirmedAt = nil
        }
        if ledger.confirmedAt == nil {
            // Counted only until confirmed, so a steady state leaves the ledger (and the state file) unchanged.
            // Clamped: the count comes from a file a person may have edited.
            ledger.consecutive = max(0, min(ledger.consecutive, policy.stableProbes)) + 1
            guard ledger.consecutive >= policy.stableProbes else {
                return .confirming(seen: ledger.consecutive, needed: policy.stableProbes)
            }
            ledger.confirmedAt = now
            if ledger.firstConfirmedAt == nil { ledger.firstConfirmedAt = now }
        }
        let confirmedAt = ledger.confirmedAt ?? now
        let firstConfirmedAt = min(ledger.firstConfirmedAt ?? confirmedAt, confirmedAt)

        // 2. Never restart into endpoints that do not accept connections.
        guard endpointsAcceptConnections else {
            return .blocked(reason: "the endpoints do not all accept TCP connections; restarting would cut the agent off")
        }

        // 3. The agent must run, not use a proxy, and still talk the old way.
        guard agent.exists, agent.running else {
            ledger.waitingOwnMoveSince = nil
            return .blocked(reason: "the agent is not running; ecsvpcd only restarts a running agent")
        }
        guard !agent.viaProxy else {
            ledger.waitingOwnMoveSince = nil
            return .blocked(reason: "the agent reaches ECS through a proxy; a restart would not change that")
        }
        let cells = agent.cells.flatMap { $0.known ? $0 : nil }
        switch agent.connections {
        case .vpcEndpoint:
            if let since = ledger.waitingOwnMoveSince {
                ledger.waitingOwnMoveSince = nil
                ledger.history.append(StatusDocument.RestartRecord(
                    at: now, via: "none", result: StatusDocument.RestartRecord.movedByItself,
                    reason: "waited since \(since) for the agent's own move",
                    detail: "the agent's websockets reached the endpoints at its own redial, without a restart"
                ))
                return .idle(reason: "the agent moved to the endpoints by itself")
            }
            return .idle(reason: "the agent is connected through the endpoints")
        case .public:
            break
        case .none, .unknown:
            // Its connections cannot tell: restart only an agent that started before the endpoints first took
            // effect. A blip (one SERVFAIL, an added address) re-confirms the configuration but does not make an
            // agent started since then, by ecsvpcd or anyone, look old. Its cell hosts, when its log names them,
            // tell more: a public one is its cache from before the endpoints.
            let stale = cells.map { !$0.publicHosts.isEmpty } ?? false
            guard stale || (agent.startedAt.map { $0 < firstConfirmedAt } ?? false) else {
                ledger.waitingOwnMoveSince = nil
                return .idle(reason: "the agent started after the endpoints were first confirmed")
            }
        }
        var reason = agent.connections == .public
            ? "the endpoints are in effect but the agent is still connected to public addresses"
            : "the endpoints are in effect and the agent started before they were confirmed"
        if let cells {
            if let host = cells.publicHosts.first {
                // Learned afresh after the endpoints took effect and still public: the endpoint's private DNS
                // does not cover this cell, and a restart would only ask for it again.
                if let discovered = cells.discoveredAt, discovered >= firstConfirmedAt,
                    let learned = cells.publicHostsOfLastDiscovery.first
                {
                    let host = learned
                    ledger.waitingOwnMoveSince = nil
                    return .blocked(reason: "the agent's cell host \(host) resolves to public addresses although the agent "
                        + "discovered it after the endpoints took effect (cell-host-public); a restart cannot move it")
                }
                reason = "the agent's cell host \(host) resolves to public addresses: its cached poll endpoint is from "
                    + "before the endpoints"
            } else {
                reason = "the agent's cell hosts resolve to the endpoints, but its websockets are still on public "
                    + "addresses until its next redial"
            }
        } else if agent.cells != nil {
            reason += " (its cell hosts are not known from its log: judged by its connections and start time)"
        }

        // 4. Cooldown and budget.
        if let last = ledger.restarts.last {
            let until = last.at.addingTimeInterval(Self.seconds(policy.cooldown))
            if until > now {
                return .coolingDown(until: until, reason: reason + "; waiting for the cooldown after the last restart")
            }
        }
        let recent = ledger.restartsInLastDay(before: now)
        if recent.count >= policy.budget {
            // The moment enough restarts leave the 24-hour window for one more to fit (also after a lowered budget).
            let times = recent.map(\.at).sorted()
            let until = policy.budget > 0 ? times[times.count - policy.budget].addingTimeInterval(86400) : .distantFuture
            return .budgetSpent(
                until: until,
                reason: reason + "; the restart budget of \(policy.budget) per 24 h is spent"
            )
        }

        // 5. This instance's slot in the window; in auto mode, no restart when the agent moves by itself first.
        let slot = confirmedAt.addingTimeInterval(slotOffset(configurationKey: configurationKey))
        if policy.mode == .auto, !force, let move = cells?.ownMove, let by = move.expectedBy {
            // A forecast that did not come true (the agent still on public addresses well after it) is not
            // waited for again: the restart then comes at the slot.
            if let since = ledger.waitingOwnMoveSince, now.timeIntervalSince(since) > AgentOwnMove.longestConnection + 300 {
                reason += "; the agent did not move by itself as expected (waited since \(since))"
            } else if by <= max(slot, now) {
                ledger.waitingOwnMoveSince = ledger.waitingOwnMoveSince ?? now
                let why = move.because == .cellHostsPrivate
                    ? "its cell hosts already resolve to the endpoints, so it moves at its next redial"
                    : "its cached poll endpoint expires and it asks afresh"
                return .waitingOwnMove(until: by, reason: reason + "; " + why + ", before this instance's slot")
            }
        }
        if policy.mode == .never {
            return .pending(at: max(slot, now), reason: reason + "; ECSVPCD_RESTART=never, so only reported")
        }
        if !force, slot > now {
            return .scheduled(at: slot, reason: reason)
        }
        ledger.waitingOwnMoveSince = nil
        return .restart(reason: force ? reason + " (requested by an operator)" : reason)
    }

    /// A deterministic offset in [0, window) from the instance and the configuration: a fleet spreads its restarts
    /// evenly, and a re-run keeps the same slot.
    public func slotOffset(configurationKey: String) -> TimeInterval {
        let window = Self.seconds(policy.window)
        guard window > 0 else { return 0 }
        let hash = Self.fnv1a64(seed + "\u{0}" + configurationKey)
        return Double(hash % 1_000_000_007) / 1_000_000_007 * window
    }

    /// The ledger's `configurationKey` while a public configuration is counted (an endpoint configuration's key
    /// is a list of `name=addresses`, never this).
    static let publicKey = "public"

    static func idleReason(_ configuration: EndpointConfiguration) -> String {
        switch configuration {
        case .vpcEndpoints: "the endpoints are in effect"
        case .partial: "only some endpoints are in effect; waiting for all three"
        case .public: "the ECS names resolve to public addresses; no endpoints in effect"
        case .unresolved: "the ECS names do not resolve"
        }
    }

    public static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// FNV-1a, 64 bit: stable across runs and platforms (unlike `Hasher`).
    static func fnv1a64(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        // Final avalanche (from SplitMix64) so that similar ids land far apart.
        hash ^= hash >> 30
        hash &*= 0xbf58_476d_1ce4_e5b9
        hash ^= hash >> 27
        hash &*= 0x94d0_49bb_1331_11eb
        hash ^= hash >> 31
        return hash
    }
}

extension EndpointAssessment {
    /// The fingerprint of the configuration the restart slot is tied to: each required name's endpoint addresses.
    public var configurationKey: String {
        required.map { report in
            report.name + "=" + report.addresses.map(\.address.description).sorted().joined(separator: ",")
        }.joined(separator: ";")
    }
}
