import ECSVPCCore
import ECSVPCD
import Foundation
import Synchronization

/// One fault (or the end of one) that the soak injects into a `DaemonScenario`, with how long it is held.
///
/// The schedule is a pure function of the seed (`FaultSchedule`), so `SEED=N` replays the same steps in the same
/// order with the same holds; only the daemon's timing against them differs from run to run.
enum SoakFault: Hashable, Sendable, CustomStringConvertible {
    enum Answer: String, Sendable, CaseIterable {
        /// Every name on its public address.
        case publicAddresses = "public"
        /// Every name on its endpoint (VPC) address.
        case endpoints
        /// ecs-a on its endpoint, the others public (an endpoint created before the others).
        case partial
        /// Every name with both its endpoint and its public address.
        case mixed
        /// No name resolves (NXDOMAIN).
        case none = "nxdomain"
    }

    enum AgentFault: String, Sendable, CaseIterable {
        /// `docker kill`: the agent dies, and comes back (as ecs-init would start it) after the hold.
        case kill
        /// `docker stop`: stopped, started again after the hold.
        case stop
        /// `docker restart`: behind the daemon's back.
        case restart
    }

    enum MetadataFault: String, Sendable, CaseIterable {
        /// Every token revoked once: the next request gets 401 and must fetch a new token.
        case unauthorized = "401"
        /// Every metadata path answers 500 for the hold.
        case serverError = "500"
        /// The emulator answers nothing at all for the hold (suspended).
        case silent = "nothing"
    }

    /// The DNS answers change (and stay until the next DNS step); the next step comes after the hold.
    case dns(Answer, hold: Double)
    /// dnsmasq suspended: every query times out.
    case dnsTimeouts(hold: Double)
    /// 443 closed on the endpoint address of name `index` (its held connections end too), reopened after the hold.
    case drop443(index: Int, hold: Double)
    case agent(AgentFault, hold: Double)
    /// The Docker Engine's socket goes away (a killed dockerd); back after the hold.
    case dockerDown(hold: Double)
    /// dockerd dies as the next restart request reaches it (the request unanswered); back after the hold.
    case dockerDiesInRestart(hold: Double)
    /// ecsvpcd gets SIGKILL after `after` seconds, or at once when it starts a restart before then
    /// (`insideRestart`); started again `downFor` seconds later.
    case killDaemon(after: Double, insideRestart: Bool, downFor: Double)
    /// SIGHUP after writing a good (changed) or a bad configuration; a bad one is put right after a second.
    case reload(good: Bool)
    /// The state directory's small tmpfs filled to the last byte, emptied after the hold.
    case diskFull(hold: Double)
    case metadata(MetadataFault, hold: Double)
    /// `ecsvpcd rollout` started beside the daemon (not waited for).
    case rollout
    /// `ecsvpcd restart-agent` (the control socket's forced restart, which keeps every safety check).
    case restartAgentRequest
    /// ecsvpcd stopped (SIGTERM) and started again with its wall clock `offset` seconds off the real one
    /// (`ECSVPCD_TEST_CLOCK_OFFSET`): stepped back or forward, as by a wrong clock at boot set right later.
    case clockStep(offset: Double)
    /// Nothing new: the daemon runs on for a while.
    case quiet(hold: Double)

    /// The kind, for "faults by kind".
    var kind: String {
        switch self {
        case .dns(let answer, _): "dns-\(answer.rawValue)"
        case .dnsTimeouts: "dns-timeouts"
        case .drop443: "drop-443"
        case .agent(let fault, _): "agent-\(fault.rawValue)"
        case .dockerDown: "dockerd-down"
        case .dockerDiesInRestart: "dockerd-dies-in-restart"
        case .killDaemon(_, let inside, _): inside ? "sigkill-in-restart" : "sigkill"
        case .reload(let good): good ? "sighup-good" : "sighup-bad"
        case .diskFull: "disk-full"
        case .metadata(let fault, _): "imds-\(fault.rawValue)"
        case .rollout: "rollout"
        case .restartAgentRequest: "restart-agent"
        case .clockStep(let offset): offset < 0 ? "clock-back" : "clock-forward"
        case .quiet: "quiet"
        }
    }

    var description: String {
        func s(_ value: Double) -> String { String(format: "%.1fs", value) }
        switch self {
        case .dns(let answer, let hold): return "dns \(answer.rawValue), held \(s(hold))"
        case .dnsTimeouts(let hold): return "dns timeouts for \(s(hold))"
        case .drop443(let index, let hold): return "443 dropped on \(DaemonScenario.names[index])'s endpoint for \(s(hold))"
        case .agent(let fault, let hold): return "agent \(fault.rawValue)" + (fault == .restart ? "" : ", back after \(s(hold))")
        case .dockerDown(let hold): return "dockerd down for \(s(hold))"
        case .dockerDiesInRestart(let hold): return "dockerd dies in the next restart, down for \(s(hold))"
        case .killDaemon(let after, let inside, let down):
            return "SIGKILL ecsvpcd " + (inside ? "inside a restart (else after \(s(after)))" : "after \(s(after))")
                + ", down for \(s(down))"
        case .reload(let good): return "SIGHUP with a \(good ? "good" : "bad") config"
        case .diskFull(let hold): return "disk full for \(s(hold))"
        case .metadata(let fault, let hold): return "instance metadata \(fault.rawValue)" + (fault == .unauthorized ? "" : " for \(s(hold))")
        case .rollout: return "rollout beside the daemon"
        case .restartAgentRequest: return "restart-agent over the control socket"
        case .clockStep(let offset): return "ecsvpcd restarted with its clock \(Int(offset)) s off"
        case .quiet(let hold): return "quiet for \(s(hold))"
        }
    }
}

/// SplitMix64: a tiny, well-mixed generator whose whole state is the seed, so a schedule replays exactly.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The seeded random schedule: DNS flips are the most frequent steps (they are what makes restarts happen), every
/// other fault comes in between.
enum FaultSchedule {
    static func steps(seed: UInt64, count: Int) -> [SoakFault] {
        var random = SeededGenerator(seed: seed)
        func hold(_ range: ClosedRange<Double>, _ random: inout SeededGenerator) -> Double {
            (Double.random(in: range, using: &random) * 10).rounded() / 10
        }
        // (weight, make)
        let kinds: [(Int, (inout SeededGenerator) -> SoakFault)] = [
            (10, { r in
                .dns([.endpoints, .endpoints, .endpoints, .publicAddresses, .publicAddresses, .partial, .mixed, .none]
                    .randomElement(using: &r) ?? .endpoints, hold: hold(0.5...5, &r))
            }),
            (2, { r in .dnsTimeouts(hold: hold(1...4, &r)) }),
            (3, { r in .drop443(index: Int.random(in: 0..<DaemonScenario.names.count, using: &r), hold: hold(1...5, &r)) }),
            (3, { r in .agent(SoakFault.AgentFault.allCases.randomElement(using: &r) ?? .kill, hold: hold(0.5...3, &r)) }),
            (2, { r in .dockerDown(hold: hold(1...4, &r)) }),
            (1, { r in .dockerDiesInRestart(hold: hold(2...6, &r)) }),
            (3, { r in .killDaemon(after: hold(0...3, &r), insideRestart: Bool.random(using: &r), downFor: hold(0...2, &r)) }),
            (2, { r in .reload(good: Bool.random(using: &r)) }),
            (1, { r in .diskFull(hold: hold(1...5, &r)) }),
            (2, { r in .metadata(SoakFault.MetadataFault.allCases.randomElement(using: &r) ?? .serverError, hold: hold(1...4, &r)) }),
            (1, { _ in .rollout }),
            (1, { _ in .restartAgentRequest }),
            (2, { r in .clockStep(offset: [-7200, -600, -30, 30, 600, 90_000].randomElement(using: &r) ?? -600) }),
            (3, { r in .quiet(hold: hold(1...5, &r)) }),
        ]
        let total = kinds.reduce(0) { $0 + $1.0 }
        return (0..<count).map { _ in
            var pick = Int.random(in: 0..<total, using: &random)
            for (weight, make) in kinds {
                if pick < weight { return make(&random) }
                pick -= weight
            }
            return .quiet(hold: 1)
        }
    }
}

/// What the soak measured and checked; printed at the end of every run.
struct SoakReport: Sendable {
    var seed: UInt64
    var steps: [SoakFault] = []
    var faultsByKind: [String: Int] = [:]
    var invariantsChecked: [String: Int] = [:]
    var violations: [String] = []
    var longestAgentStopByDaemon: Double = 0
    var longestAgentStopInjected: Double = 0
    /// Per restart: the record, and the seconds from its start (the decision) to the moment the state file showed
    /// it verified (settling) or otherwise ended.
    var restarts: [(record: StatusDocument.RestartRecord, decisionToResult: Double?)] = []
    var daemonCycles: Int = 0
    var elapsed: Double = 0

    var text: String {
        var lines: [String] = []
        let minutes = max(elapsed / 60, 1e-9)
        lines.append("fault soak, seed \(seed): \(steps.count) steps in \(String(format: "%.1f", elapsed)) s "
            + "(\(String(format: "%.1f", Double(steps.count) / minutes)) steps/minute), about \(daemonCycles) daemon cycles")
        lines.append("faults by kind: " + faultsByKind.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        lines.append("invariants checked: " + invariantsChecked.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            + " (total \(invariantsChecked.values.reduce(0, +)))")
        lines.append(String(format: "longest agent stop: %.1f s by the daemon's restarts, %.1f s injected by the soak",
                            longestAgentStopByDaemon, longestAgentStopInjected))
        lines.append("restarts: \(restarts.count)")
        for (record, seconds) in restarts {
            lines.append("  \(ISO8601DateFormatter().string(from: record.at)) via \(record.via): \(record.result), decision to result "
                + (seconds.map { String(format: "%.1f s", $0) } ?? "unknown")
                + (record.gapSeconds.map { String(format: ", gap %.2f s", $0) } ?? ""))
        }
        if !violations.isEmpty {
            lines.append("VIOLATIONS:")
            lines += violations.map { "  " + $0 }
        }
        return lines.joined(separator: "\n")
    }

    var replay: String {
        "replay: SEED=\(seed) SOAK_STEPS=\(steps.count) swift test --skip-build --filter FaultSoakTests\nsteps:\n"
            + steps.enumerated().map { "  \($0.offset + 1). \($0.element)" }.joined(separator: "\n")
    }
}

/// Runs a schedule of faults against `ecsvpcd run` (the built binary) in a `DaemonScenario`, with the state
/// directory on a small tmpfs and the Docker Engine reached through a `DockerSocketForwarder` that can go down,
/// and checks the invariants after every step and, for the agent and the daemon process, every 250 ms between.
final class FaultSoak: @unchecked Sendable {
    /// The longest the agent may stay stopped by a restart of the daemon's (the stand-in exits at once on SIGTERM;
    /// Docker's restart is one call).
    static let longestRestartStop = 20.0
    /// `status` must answer within this (the CLI's own deadline, `StatusCommandRunner.statusTimeout`).
    static let statusDeadline: Duration = .seconds(5)
    static let budget = 3
    static let interval = 1.0
    static let stableProbes = 2

    let seed: UInt64
    let steps: [SoakFault]
    /// Stop taking new steps after this long (the long run); nil: run every step.
    let timeLimit: Duration?

    private let scenario: DaemonScenario
    private let forwarder: DockerSocketForwarder
    private let engine: DockerEngine
    private let state: Mutex<MonitorState>
    private let currentDaemon = Mutex<DaemonProcess?>(nil)
    /// The daemon now (the monitor reads it while a step replaces it).
    private var daemon: DaemonProcess? {
        get { currentDaemon.withLock { $0 } }
        set { currentDaemon.withLock { $0 = newValue } }
    }
    private var background: [Task<Void, Never>] = []

    private struct MonitorState {
        var report: SoakReport
        /// The daemon is down on purpose (killed by the soak, not yet started again).
        var daemonDown = false
        var daemonStartedAt = ContinuousClock.now
        /// The soak has the agent stopped (or is restarting it) now.
        var agentInjected = false
        var agentStoppedSince: ContinuousClock.Instant?
        var agentStopInjected = false
        /// When the world was safe for a restart: every name on its endpoint only, each endpoint accepting 443,
        /// DNS answering. Intervals of wall-clock time, the last one open while it lasts.
        var safe: [(from: Date, to: Date?)] = []
        var answer: SoakFault.Answer = .publicAddresses
        var dnsSuspended = false
        var dropped: Set<Int> = []
        /// Restart records seen (keyed by start time and via), with when the state file first showed a result.
        var seenRecords: [String: Date] = [:]
        var checkedRecords: Set<String> = []
        var cyclesBefore = 0
        var lastCycles = 0
        /// The daemon's clock offset now, and every one it has had (its records carry times of that clock).
        var clockOffset = 0.0
        var clockOffsets: Set<Double> = [0]

        mutating func check(_ name: String, _ ok: Bool, _ detail: @autoclosure () -> String) {
            report.invariantsChecked[name, default: 0] += 1
            if !ok { report.violations.append("\(name): \(detail())") }
        }

        var isSafe: Bool { answer == .endpoints && !dnsSuspended && dropped.isEmpty }

        mutating func worldChanged(now: Date = Date()) {
            let open = safe.last.map { $0.to == nil } ?? false
            if isSafe && !open { safe.append((now, nil)) }
            if !isSafe && open { safe[safe.count - 1].to = now }
        }

        func wasSafe(between from: Date, and to: Date) -> Bool {
            safe.contains { $0.from <= to && ($0.to ?? .distantFuture) >= from }
        }
    }

    init(seed: UInt64, steps: [SoakFault], timeLimit: Duration? = nil) async throws {
        guard geteuid() == 0 else { throw HarnessFailure("the fault soak mounts a tmpfs for the state directory: run it as root (scripts/test does)") }
        self.seed = seed
        self.steps = steps
        self.timeLimit = timeLimit
        state = Mutex(MonitorState(report: SoakReport(seed: seed)))
        scenario = try await DaemonScenario()
        forwarder = try await DockerSocketForwarder(upstream: scenario.dockerHost)
        engine = DockerEngine(target: try HTTPTarget(url: scenario.dockerHost), timeout: .seconds(5))
        try FileManager.default.createDirectory(atPath: scenario.stateDir, withIntermediateDirectories: true)
        try Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=512k,mode=0755", "tmpfs", scenario.stateDir])
        do {
            try await prepare()
        } catch {
            try? Self.run("/bin/umount", ["-l", scenario.stateDir])
            throw error
        }
    }

    private func prepare() async throws {
        try scenario.writeConfig([
            "ECSVPCD_DOCKER_HOST": forwarder.host,
            "ECSVPCD_INTERVAL": "\(Int(Self.interval))s",
            "ECSVPCD_STABLE_PROBES": "\(Self.stableProbes)",
            "ECSVPCD_RESTART_WINDOW": "3s",
            "ECSVPCD_RESTART_COOLDOWN": "10s",
            "ECSVPCD_RESTART_BUDGET": "\(Self.budget)",
        ])
        try await scenario.waitForAgentConnection(to: scenario.publicAddresses[0])
    }

    /// Runs the schedule; returns the report (violations included) and takes everything down, also on failure.
    func run() async -> SoakReport {
        let started = ContinuousClock.now
        defer { tearDown() }
        do {
            daemon = try await scenario.startDaemon()
            state.withLock { $0.daemonStartedAt = ContinuousClock.now }
            let monitor = Task { [self] in await monitorLoop() }
            defer { monitor.cancel() }
            for step in steps {
                if let timeLimit, ContinuousClock.now - started > timeLimit { break }
                state.withLock {
                    $0.report.steps.append(step)
                    $0.report.faultsByKind[step.kind, default: 0] += 1
                }
                try await apply(step)
                await checkInvariants()
                if !state.withLock({ $0.report.violations.isEmpty }) { break }
            }
            for task in background { await task.value }
            await checkInvariants()
        } catch {
            state.withLock { $0.report.violations.append("the soak itself failed: \(error)") }
        }
        // Rollouts and restart-agent requests still running end before the peers go.
        for task in background { await task.value }
        let final = parseStateFile().ledger
        return state.withLock { state in
            for record in final?.restarts ?? [] {
                let seen = state.seenRecords["\(record.at.timeIntervalSince1970) \(record.via)"]
                state.report.restarts.append((record, seen.map { $0.timeIntervalSince(record.at) }))
            }
            state.report.elapsed = (ContinuousClock.now - started).seconds
            state.report.daemonCycles = state.cyclesBefore + state.lastCycles
            if !state.report.violations.isEmpty {
                state.report.violations.append("--- daemon log (last 60 lines) ---\n"
                    + scenario.log.split(separator: "\n").suffix(60).joined(separator: "\n"))
            }
            return state.report
        }
    }

    // MARK: Steps

    private func apply(_ step: SoakFault) async throws {
        switch step {
        case .dns(let answer, let hold):
            for (index, name) in DaemonScenario.names.enumerated() {
                let vpc = scenario.vpcAddresses[index], pub = scenario.publicAddresses[index]
                let addresses: [IPAddress] = switch answer {
                case .publicAddresses: [pub]
                case .endpoints: [vpc]
                case .partial: index == 0 ? [vpc] : [pub]
                case .mixed: [vpc, pub]
                case .none: []
                }
                // Marked unsafe before the first name changes, safe only once the last one has.
                if answer != .endpoints { changeWorld { $0.answer = answer } }
                try await scenario.dns.set(name, addresses)
            }
            changeWorld { $0.answer = answer }
            try await pause(hold)
        case .dnsTimeouts(let hold):
            changeWorld { $0.dnsSuspended = true }
            scenario.dns.suspend(true)
            try await pause(hold)
            scenario.dns.suspend(false)
            changeWorld { $0.dnsSuspended = false }
        case .drop443(let index, let hold):
            changeWorld { $0.dropped.insert(index) }
            try scenario.setListening(scenario.vpcAddresses[index], false)
            try await pause(hold)
            try scenario.setListening(scenario.vpcAddresses[index], true)
            changeWorld { $0.dropped.remove(index) }
        case .agent(let fault, let hold):
            state.withLock { $0.agentInjected = true }
            defer { state.withLock { $0.agentInjected = false } }
            switch fault {
            case .kill: _ = try? await DaemonAgentContainer.docker(["kill", scenario.agent.name])
            case .stop: _ = try? await DaemonAgentContainer.docker(["stop", "-t", "1", scenario.agent.name])
            case .restart: _ = try? await DaemonAgentContainer.docker(["restart", "-t", "1", scenario.agent.name])
            }
            if fault != .restart {
                try await pause(hold)
                // As ecs-init would: start it again (a daemon's restart may have started it already).
                _ = try? await DaemonAgentContainer.docker(["start", scenario.agent.name])
            }
            try await waitForAgentRunning()
        case .dockerDown(let hold):
            forwarder.mode = "down"
            try await pause(hold)
            forwarder.mode = "up"
        case .dockerDiesInRestart(let hold):
            forwarder.mode = "fail-restart"
            try await pause(hold)
            forwarder.mode = "up"
        case .killDaemon(let after, let insideRestart, let downFor):
            guard let current = daemon, current.isRunning else { return }
            let restartsBefore = restartLines()
            let deadline = ContinuousClock.now + .seconds(insideRestart ? max(after, 6) : after)
            while ContinuousClock.now < deadline {
                if insideRestart, restartLines() > restartsBefore { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            state.withLock { $0.daemonDown = true }
            current.signal(SIGKILL)
            _ = try await current.waitForExit(timeout: .seconds(5))
            try await pause(downFor)
            daemon = try await scenario.startDaemon(waitForStatus: false, environment: clockEnvironment())
            state.withLock {
                $0.cyclesBefore += $0.lastCycles
                $0.lastCycles = 0
                $0.daemonStartedAt = ContinuousClock.now
                $0.daemonDown = false
            }
            try await pause(1)
        case .reload(let good):
            if good {
                // A real change each time: the probe timeout moves between 700 and 800 ms.
                let timeout = Bool.random() ? "700ms" : "800ms"
                try scenario.writeConfig(["ECSVPCD_PROBE_TIMEOUT": timeout])
                daemon?.signal(SIGHUP)
                try await pause(1)
            } else {
                try scenario.writeConfig(["ECSVPCD_INTERVAL": "now-and-then"])
                daemon?.signal(SIGHUP)
                try await pause(1)
                // Put right before any later start reads it (a daemon started on a bad file exits 78, rightly).
                try scenario.writeConfig(["ECSVPCD_INTERVAL": "\(Int(Self.interval))s"])
            }
        case .diskFull(let hold):
            let filler = scenario.stateDir + "/filler"
            Self.fill(filler)
            try await pause(hold)
            try? FileManager.default.removeItem(atPath: filler)
        case .metadata(let fault, let hold):
            switch fault {
            case .unauthorized:
                try await scenario.imds.revokeTokens()
                try await pause(hold)
            case .serverError:
                let paths = DaemonScenario.metadata(instanceID: scenario.instanceID, vpcBlocks: [Loopback.vpcCIDR.description]).keys
                try scenario.imds.answer(Dictionary(uniqueKeysWithValues: paths.map { ($0, 500) }))
                try await pause(hold)
                try scenario.imds.answer([:])
            case .silent:
                scenario.imds.suspend(true)
                try await pause(hold)
                scenario.imds.suspend(false)
            }
        case .rollout:
            let config = scenario.configPath
            background.append(Task { _ = try? await CommandRun.run(["rollout", "--json", "--max-wait", "20s", "--config", config]) })
            try await pause(1)
        case .restartAgentRequest:
            let config = scenario.configPath
            background.append(Task { _ = try? await CommandRun.run(["restart-agent", "--reason", "fault soak", "--config", config]) })
            try await pause(1)
        case .clockStep(let offset):
            guard let current = daemon, current.isRunning else { return }
            state.withLock { $0.daemonDown = true }
            current.signal(SIGTERM)
            let stopped = try await current.waitForExit(timeout: .seconds(15))
            state.withLock {
                $0.check("stops-when-told", stopped && current.exitDescription == "exit 0",
                         "ecsvpcd did not exit 0 within 15 s of SIGTERM (\(current.exitDescription))")
                $0.clockOffset = offset
                $0.clockOffsets.insert(offset)
            }
            if !stopped { current.signal(SIGKILL) }
            daemon = try await scenario.startDaemon(waitForStatus: false, environment: clockEnvironment())
            state.withLock {
                $0.cyclesBefore += $0.lastCycles
                $0.lastCycles = 0
                $0.daemonStartedAt = ContinuousClock.now
                $0.daemonDown = false
            }
            try await pause(1)
        case .quiet(let hold):
            try await pause(hold)
        }
    }

    private func clockEnvironment() -> [String: String] {
        let offset = state.withLock { $0.clockOffset }
        return offset == 0 ? [:] : ["ECSVPCD_TEST_CLOCK_OFFSET": String(offset)]
    }

    private func changeWorld(_ change: (inout MonitorState) -> Void) {
        state.withLock { (value: inout MonitorState) -> Void in
            change(&value)
            value.worldChanged()
        }
    }

    private func pause(_ seconds: Double) async throws {
        try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
    }

    private func restartLines() -> Int {
        scenario.log.components(separatedBy: "restarting the ECS agent via").count - 1
    }

    private func waitForAgentRunning() async throws {
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            if (try? await engine.inspect(scenario.agent.name))?.running == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        state.withLock { $0.report.violations.append("the soak could not start the stand-in agent again within 15 s") }
    }

    private static func fill(_ path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0, count: 16 << 10)
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        // The last partial block: byte by byte until ENOSPC.
        var byte: UInt8 = 0
        while write(fd, &byte, 1) == 1 {}
    }

    private static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw HarnessFailure("\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
        }
    }

    // MARK: Invariants

    /// Every 250 ms: the agent's state (how long it stays stopped, and by whom), the daemon process, the state file.
    private func monitorLoop() async {
        while !Task.isCancelled {
            let container = try? await engine.inspect(scenario.agent.name)
            let running = container?.running ?? false
            let now = ContinuousClock.now
            let daemonRunning = daemon?.isRunning ?? false
            let exit = daemon?.exitDescription ?? ""
            state.withLock { state in
                if !running {
                    if state.agentStoppedSince == nil {
                        state.agentStoppedSince = now
                        state.agentStopInjected = state.agentInjected
                    } else if state.agentInjected {
                        state.agentStopInjected = true
                    }
                    if let since = state.agentStoppedSince, !state.agentStopInjected {
                        let stopped = (now - since).seconds
                        state.report.longestAgentStopByDaemon = max(state.report.longestAgentStopByDaemon, stopped)
                        if stopped > Self.longestRestartStop {
                            state.check("agent-not-left-stopped", false, "the agent has been stopped for \(Int(stopped)) s, not by the soak")
                            state.agentStopInjected = true  // reported once
                        }
                    }
                } else if let since = state.agentStoppedSince {
                    let stopped = (now - since).seconds
                    if state.agentStopInjected {
                        state.report.longestAgentStopInjected = max(state.report.longestAgentStopInjected, stopped)
                    } else {
                        state.report.longestAgentStopByDaemon = max(state.report.longestAgentStopByDaemon, stopped)
                    }
                    state.check("agent-not-left-stopped", state.agentStopInjected || stopped <= Self.longestRestartStop,
                                "the agent was stopped for \(stopped) s by a restart")
                    state.agentStoppedSince = nil
                }
                if !state.daemonDown {
                    state.check("daemon-never-exits", daemonRunning, "ecsvpcd exited by itself (\(exit))")
                    if !daemonRunning { state.daemonDown = true }  // reported once
                }
            }
            recordResults()
            try? await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Notes when each restart record first shows a result in the state file (for decision-to-result times).
    private func recordResults() {
        let parsed = parseStateFile()
        state.withLock { state in
            state.check("state-file-parses", parsed.ok, parsed.problem)
            for record in parsed.ledger?.history ?? [] where record.via != "none" {
                let key = "\(record.at.timeIntervalSince1970) \(record.via)"
                // On the daemon's clock, as the record's time is.
                if state.seenRecords[key] == nil { state.seenRecords[key] = Date().addingTimeInterval(state.clockOffset) }
            }
        }
    }

    private func parseStateFile() -> (ok: Bool, problem: String, ledger: RestartLedger?) {
        struct StateFile: Decodable { var schema: Int; var ledger: RestartLedger }
        let path = scenario.stateDir + "/state.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            // None yet (no restart decision saved so far) is fine; unreadable is not.
            return (!FileManager.default.fileExists(atPath: path), "\(path) exists but cannot be read", nil)
        }
        do {
            let file = try StatusDocument.decoder().decode(StateFile.self, from: data)
            return (file.schema == 1, "schema \(file.schema)", file.ledger)
        } catch {
            return (false, "\(path) does not parse: \(error)\n\(String(decoding: data.prefix(400), as: UTF8.self))", nil)
        }
    }

    /// After every step: status answers in time, the budget holds, every restart came while it was safe.
    private func checkInvariants() async {
        let (down, startedAt) = state.withLock { ($0.daemonDown, $0.daemonStartedAt) }
        if !down, daemon?.isRunning == true {
            let socket = scenario.directory.file("run") + "/control.sock"
            var outcome = "not asked"
            var answered = false
            var took = Duration.zero
            // Right after a start the socket may not be there yet: a few seconds' grace, then it must answer.
            repeat {
                let asked = ContinuousClock.now
                do {
                    let reply = try await ControlClient(path: socket).send(.status, timeout: Self.statusDeadline)
                    took = ContinuousClock.now - asked
                    if case .status(let document) = reply {
                        answered = true
                        let cycles = document.process?.cycles ?? 0
                        state.withLock { $0.lastCycles = max($0.lastCycles, cycles) }
                    } else {
                        outcome = "replied \(reply)"
                    }
                } catch {
                    took = ContinuousClock.now - asked
                    outcome = "\(error)"
                }
                if answered || ContinuousClock.now - startedAt > .seconds(10) { break }
                try? await Task.sleep(for: .milliseconds(200))
            } while true
            state.withLock {
                $0.check("status-answers", answered && took <= Self.statusDeadline,
                         "status did not answer within \(Self.statusDeadline) (took \(took)): \(outcome)")
            }
        }
        let parsed = parseStateFile()
        state.withLock { state in
            state.check("state-file-parses", parsed.ok, parsed.problem)
            guard let ledger = parsed.ledger else { return }
            let restarts = ledger.restarts
            for (index, record) in restarts.enumerated() {
                // The daemon's own rule, on its clock: the restarts recorded before this one less than 24 h before it
                // (those dated after it, by a clock stepped back since, count too).
                let inDay = 1 + restarts[..<index].filter { record.at.timeIntervalSince($0.at) < 86400 }.count
                state.check("restart-budget", inDay <= Self.budget,
                            "\(inDay) restarts in the 24 h up to \(record.at), budget \(Self.budget): \(restarts)")
                let key = "\(record.at.timeIntervalSince1970) \(record.via)"
                guard !state.checkedRecords.contains(key) else { continue }
                state.checkedRecords.insert(key)
                // Confirmed needs stableProbes observations of the endpoints, each 443 open: the world must have been
                // safe at some moment before the restart began (state.json keeps whole seconds: one second of slack).
                // The record carries the time of the clock of the daemon (or rollout) that made it: one of the offsets.
                let lookback = Double(Self.stableProbes) * Self.interval + 4
                let safe = state.clockOffsets.contains { offset in
                    let real = record.at.addingTimeInterval(-offset)
                    return state.wasSafe(between: real.addingTimeInterval(-lookback), and: real.addingTimeInterval(1))
                }
                state.check("restart-only-when-safe", safe,
                            "restart at \(record.at) (\(record.result): \(record.reason)) while the endpoints were not confirmed or dropped 443")
            }
        }
    }

    private func tearDown() {
        scenario.dns.suspend(false)
        scenario.imds.suspend(false)
        for daemon in [daemon].compactMap({ $0 }) { daemon.stop() }
        scenario.stop()
        forwarder.stop()
        try? Self.run("/bin/umount", ["-l", scenario.stateDir])
    }
}

extension Duration {
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
