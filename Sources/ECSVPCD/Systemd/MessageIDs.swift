/// The catalogued journal `MESSAGE_ID`s of the events an operator may need explained.
///
/// Each has an entry in `systemd/ecsvpcd.catalog` (installed under /usr/lib/systemd/catalog), so
/// `journalctl -x` shows what happened and what to do. Log with `message_id: .string(MessageID.x.rawValue)`.
/// The ids are random and permanent: never change or reuse one.
public enum MessageID: String, CaseIterable, Sendable {
    /// The names now resolve differently (public to VPC endpoint, or back).
    case configurationChanged = "511e8601458149f8b9d13a2b76840462"
    /// A restart of the agent was decided and will happen at a given time.
    case restartScheduled = "202c985177d6476d8266e1f423d9fbf7"
    /// The restarted agent came back and talks to the endpoints.
    case restartVerified = "ff868597bed74ce3920026db45e1671f"
    /// The restart failed or the agent did not come back on the endpoints.
    case restartFailed = "a6d605c9852f47b5b8df74e2e397a1a5"
    /// A name resolves to an endpoint address that does not accept TCP 443.
    case endpointNotAccepting = "231d5fd38e6c449e8b4907a19ca86f26"
    /// The host does not use Amazon-provided DNS, so the private names may not apply.
    case customDNSBypass = "337467e42190459fa906be7e0665eea0"
    /// The agent is older than the version that supports the endpoints.
    case agentTooOld = "59362821dd464ed6950e54fc57b7dd5d"
    /// The restart budget for the last 24 hours is used up.
    case budgetSpent = "2e952b752cea4194b3ceeff52c8d0b16"
    /// The agent's proxy settings send ECS traffic around the endpoints.
    case proxyBypassesEndpoints = "b8e5d1d4a11948be924a4da495b5f3bf"
    /// A restart is needed but waits (debounce, cooldown, or the restart window).
    case restartPending = "72bb5ea78aea4064ae402eed0a35d5a4"
    /// A restarted agent reached the endpoints, then stopped or fell back within the settle time.
    case lostAfterRestart = "2d2440790f9b4d4ba34e23c419b4f9ac"
}
