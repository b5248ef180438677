import ECSVPCCore

/// What systemd says about the agent's unit (`ECSVPCD_AGENT_UNIT`, `ecs.service` on ECS-optimized AMIs).
public enum AgentUnitState: Hashable, Sendable {
    case active
    /// Loaded (a unit file exists) but not active; the `ActiveState` (inactive, failed, activating, …).
    /// `RestartUnit` starts such a unit.
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

/// The restart path for the setting and the facts gathered now, with a sentence naming the facts that decided; a
/// nil path means the restart is blocked.
///
/// Under ecs-init the Docker Engine is never the way: the agent exits 0 on SIGTERM, ecs-init (`ecs.service`) then
/// exits 0, the unit goes inactive and its post-stop removes the credential routes, and the unit's ExecStop stops
/// even an agent Docker started again. So with `auto` a loaded unit is restarted through systemd whatever its
/// state (`RestartUnit` starts it), and the Docker Engine is used only where no unit, no ecs-init process and no
/// ecs-init container are seen. `docker` is the operator's word and is obeyed, with a warning when ecs-init is
/// seen; `systemd` never uses Docker.
public func chooseRestartPath(
    via: RestartVia, unit: String, state: AgentUnitState, container: AgentContainerOrigin, ecsInit: EcsInitProcess
) -> (RestartPath?, String) {
    switch via {
    case .docker: return dockerAsConfigured(unit: unit, state: state, container: container, ecsInit: ecsInit)
    case .systemd: return systemdAsConfigured(unit: unit, state: state)
    case .auto: return chosen(unit: unit, state: state, container: container, ecsInit: ecsInit)
    }
}

private func chosen(
    unit: String, state: AgentUnitState, container: AgentContainerOrigin, ecsInit: EcsInitProcess
) -> (RestartPath?, String) {
    let facts = "\(describe(container)); \(describe(ecsInit))"
    let noUnit: String
    switch state {
    case .active:
        return (.systemd, "through systemd: \(unit) is active and supervises the agent")
    case .notActive(let active):
        return (
            .systemd,
            "through systemd, which starts \(unit) again: it is loaded but \(active) (\(facts)); under a loaded "
                + "unit ecsvpcd never restarts through the Docker Engine"
        )
    case .unknown(let why):
        return (
            nil,
            "no restart path now: systemd cannot be asked whether \(unit) supervises the agent (\(why)); "
                + "a Docker restart under it would leave the unit inactive, so ecsvpcd waits until systemd answers"
        )
    case .absent:
        noUnit = "there is no \(unit)"
    case .busUnavailable(let why):
        noUnit = "there is no system bus (\(why)), so no unit supervises the agent"
    }
    let ask = state == .absent ? "set ECSVPCD_AGENT_UNIT to the unit that runs it" : "ecsvpcd waits until the system bus answers"
    if case .running(let pid, let command) = ecsInit {
        return (
            nil,
            "restart blocked: \(noUnit), but ecs-init runs (pid \(pid): \(command)) and \(describe(container)); "
                + "a Docker restart under ecs-init ends with the agent stopped, so ecsvpcd does not make one "
                + "(\(ask), or ECSVPCD_RESTART_VIA=docker to restart through the Docker Engine anyway)"
        )
    }
    if case .ecsInit = container {
        return (
            nil,
            "restart blocked: \(noUnit) and \(describe(ecsInit)), but \(describe(container)); ecsvpcd never "
                + "restarts ecs-init's container through the Docker Engine, as under ecs-init that ends with the agent "
                + "stopped (ECSVPCD_RESTART_VIA=docker restarts it that way anyway)"
        )
    }
    if case .unknown = container, case .unknown = ecsInit {
        return (
            nil,
            "restart blocked: \(noUnit), and neither the agent container nor /proc tells whether ecs-init runs "
                + "it (\(facts)); a Docker restart under ecs-init ends with the agent stopped"
        )
    }
    return (.docker, "through the Docker Engine: \(noUnit); \(facts)")
}

private func dockerAsConfigured(
    unit: String, state: AgentUnitState, container: AgentContainerOrigin, ecsInit: EcsInitProcess
) -> (RestartPath?, String) {
    var seen: [String] = []
    if state == .active { seen.append("\(unit) is active") }
    if case .ecsInit = container { seen.append(describe(container)) }
    if case .running = ecsInit { seen.append(describe(ecsInit)) }
    guard !seen.isEmpty else {
        return (.docker, "through the Docker Engine (ECSVPCD_RESTART_VIA=docker): \(describe(container)); \(describe(ecsInit))")
    }
    return (
        .docker,
        "through the Docker Engine (ECSVPCD_RESTART_VIA=docker), although \(seen.joined(separator: " and ")): "
            + "warning: under ecs-init a Docker restart ends with the agent stopped, \(unit) inactive and its "
            + "credential routes removed; ECSVPCD_RESTART_VIA=auto restarts through \(unit)"
    )
}

private func systemdAsConfigured(unit: String, state: AgentUnitState) -> (RestartPath?, String) {
    switch state {
    case .active:
        return (.systemd, "through systemd: \(unit) is active (ECSVPCD_RESTART_VIA=systemd)")
    case .notActive(let state):
        return (.systemd, "through systemd, which will start \(unit) (now \(state)) (ECSVPCD_RESTART_VIA=systemd)")
    case .absent:
        return (nil, "no restart path: there is no \(unit) and ECSVPCD_RESTART_VIA=systemd rules out Docker")
    case .unknown(let why):
        return (nil, "no restart path now: systemd cannot be asked about \(unit) (\(why)) and ECSVPCD_RESTART_VIA=systemd rules out Docker")
    case .busUnavailable(let why):
        return (nil, "no restart path: systemd cannot be asked about \(unit) (\(why)) and ECSVPCD_RESTART_VIA=systemd rules out Docker")
    }
}

private func describe(_ container: AgentContainerOrigin) -> String {
    switch container {
    case .ecsInit(let marks): "ecs-init created the agent container (\(marks.joined(separator: ", ")))"
    case .notEcsInit: "the agent container does not carry ecs-init's marks"
    case .unknown(let why): "the agent container could not be inspected (\(why))"
    }
}

private func describe(_ process: EcsInitProcess) -> String {
    switch process {
    case .running(let pid, let command): "ecs-init runs (pid \(pid): \(command))"
    case .notRunning: "no ecs-init process runs"
    case .unknown(let why): "whether ecs-init runs is not known (\(why))"
    }
}
