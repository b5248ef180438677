import ECSVPCCore

/// What systemd says about the agent's unit (`ECSVPCD_AGENT_UNIT`, `ecs.service` on ECS-optimized AMIs).
public enum AgentUnitState: Hashable, Sendable {
    case active
    /// Loaded but not active; the `ActiveState` (inactive, failed, activating, …).
    case notActive(String)
    /// No such unit file.
    case absent
    /// There is no system bus (its socket does not exist): not a systemd machine, nothing supervises the agent
    /// through a unit.
    case busUnavailable(String)
    /// systemd could not be asked (bus refused, access denied, timeout, an error reply); the reason. The unit may
    /// well supervise the agent, so neither way is safe until it answers.
    case unknown(String)
}

/// The restart path for a setting and a unit state, with a sentence saying why; nil when none may be used.
///
/// Restarting through systemd matters because ecs-init (`ecs.service`) exits when the agent container stops,
/// so a `docker restart` under it can leave the unit inactive; the Docker Engine is used only where nothing
/// supervises the container, or when the operator says so.
public func chooseRestartPath(via: RestartVia, unit: String, state: AgentUnitState) -> (RestartPath?, String) {
    switch (via, state) {
    case (.docker, _):
        return (.docker, "through the Docker Engine (ECSVPCD_RESTART_VIA=docker)")
    case (.auto, .active):
        return (.systemd, "through systemd: \(unit) is active and supervises the agent")
    case (.auto, .notActive(let state)):
        return (.docker, "through the Docker Engine: \(unit) is \(state), so it does not supervise the agent")
    case (.auto, .absent):
        return (.docker, "through the Docker Engine: there is no \(unit)")
    case (.auto, .busUnavailable(let why)):
        return (.docker, "through the Docker Engine: there is no system bus (\(why)), so no unit supervises the agent")
    case (.auto, .unknown(let why)):
        return (nil, "no restart path now: systemd cannot be asked whether \(unit) supervises the agent (\(why)); "
            + "a Docker restart under it would leave the unit inactive, so ecsvpcd waits until systemd answers")
    case (.systemd, .active):
        return (.systemd, "through systemd: \(unit) is active (ECSVPCD_RESTART_VIA=systemd)")
    case (.systemd, .notActive(let state)):
        return (.systemd, "through systemd, which will start \(unit) (now \(state)) (ECSVPCD_RESTART_VIA=systemd)")
    case (.systemd, .absent):
        return (nil, "no restart path: there is no \(unit) and ECSVPCD_RESTART_VIA=systemd rules out Docker")
    case (.systemd, .unknown(let why)):
        return (nil, "no restart path now: systemd cannot be asked about \(unit) (\(why)) and ECSVPCD_RESTART_VIA=systemd rules out Docker")
    case (.systemd, .busUnavailable(let why)):
        return (nil, "no restart path: systemd cannot be asked about \(unit) (\(why)) and ECSVPCD_RESTART_VIA=systemd rules out Docker")
    }
}
