import ECSVPCCore
import FoundationEssentials
import Glibc
import Logging
import ServiceLifecycle
import UnixSignals

/// `ecsvpcd run`: observe → decide → act → report, every interval, until SIGTERM.
///
/// One loop owns every decision and every restart, so two restarts can never race. SIGHUP reloads the
/// configuration (an invalid one is reported and the old one kept); the control socket can ask for a reprobe
/// or an operator restart, which wake the loop.
public final class Daemon: Service, ControlHandling, @unchecked Sendable {
    let configPath: String
    let configExplicit: Bool
    let notifier: any ServiceNotifying
    let logger: Logger
    let waker = Waker()
    let pinger: WatchdogPinger
    let shared: DaemonShared
    /// How long a restarted agent has to come back on the endpoints.
    let verifyDeadline: Duration
    let now: @Sendable () -> Date

    public init(
        settings: Settings,
        configPath: String,
        configExplicit: Bool,
        notifier: any ServiceNotifying,
        logger: Logger,
        verifyDeadline: Duration = .seconds(120),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configPath = configPath
        self.configExplicit = configExplicit
        self.notifier = notifier
        self.logger = logger
        self.verifyDeadline = verifyDeadline
        self.now = now
        shared = DaemonShared(settings: settings)
        // Stuck: a cycle still running ten minutes after the longest thing it waits for (a restart's verification).
        pinger = WatchdogPinger(notifier: notifier, longestCycle: verifyDeadline + .seconds(600))
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { await self.forwardReloadSignals() }
                let settings = await shared.settings
                let control = ControlServer(
                    path: settings.controlSocket, statusGroup: settings.statusGroup, handler: self, logger: logger
                )
                group.addTask { [logger] in
                    // Without its socket the daemon still does its work; `ecsvpcd status` then reads status.json.
                    do {
                        try await control.run()
                    } catch where !Task.isCancelled {
                        logger.error(
                            "the control socket failed, so ecsvpcd status shows the saved status only: \(error)",
                            metadata: ["path": "\(settings.controlSocket)"]
                        )
                    }
                }
                defer { pinger.stop() }
                try await self.loop()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.waker.wake(.shutdown)
        }
    }

    private func forwardReloadSignals() async {
        for await _ in await UnixSignalsSequence(trapping: .sighup) {
            waker.wake(.reload)
        }
    }

    // MARK: The loop

    private func loop() async throws {
        var settings = await shared.settings
        var cycleRunner = try CycleRunner(
            settings: settings, logger: logger, verifyDeadline: verifyDeadline, now: now, stopping: waker.stopRequested
        )
        var reporter = FleetReporter(settings: settings, logger: logger)
        var started = false
        // READY=1 follows the first cycle, and the first cycle after each reload (after RELOADING=1).
        var readyPending = true
        var force: String?
        var sentStatus = ""
        while true {
            pinger.cycleStarted()
            let cycleStart = ContinuousClock.now
            let (document, ledger) = await cycleRunner.cycle(force: force)
            let cycleTime = ContinuousClock.now - cycleStart
            force = nil
            await shared.publish(document, ledger: ledger, policy: RestartPolicy(settings))
            // Part of the cycle for the watchdog: a write that hangs (a metrics file on a stuck mount) stops the
            // pings after `longestCycle`, so systemd restarts ecsvpcd instead of it never deciding again.
            await reporter.report(document, cycleSeconds: RestartPlanner.seconds(cycleTime))
            pinger.cycleEnded()
            // The heap as each cycle leaves it: the figure that must stay flat, free of whatever a cycle in
            // flight holds when a status is asked for.
            await shared.cycleCompleted(heapInUse: ProcessFootprint.heapInUse())
            if readyPending {
                notifier.ready(status: document.summary)
                readyPending = false
                if !started {
                    pinger.start()
                    logger.info("ecsvpcd \(ECSVPCDVersion.current) started: \(document.summary)")
                    started = true
                }
            } else if document.summary != sentStatus {
                notifier.status(document.summary)
            }
            sentStatus = document.summary

            // Sleep until the next cycle, sooner while a change is being confirmed or a slot comes.
            var interval = settings.interval
            if document.restart?.state == "confirming" { interval = min(interval, max(settings.interval / 6, .seconds(1))) }
            if let notBefore = document.restart?.notBefore, document.restart?.state == "scheduled" {
                let untilSlot = Duration.milliseconds(Int64(max(0, notBefore.timeIntervalSince(now())) * 1000) + 10)
                interval = min(interval, untilSlot)
            }
            let deadline = ContinuousClock.now + interval
            var wakes: [Wake] = []
            while ContinuousClock.now < deadline, wakes.isEmpty {
                let remaining = deadline - ContinuousClock.now
                wakes = await waker.wait(timeout: remaining)
            }
            if wakes.contains(.shutdown) {
                notifier.stopping()
                logger.info("ecsvpcd stopping")
                return
            }
            if wakes.contains(.reload) {
                notifier.reloading()
                do {
                    let (fresh, warnings) = try SettingsLoader.loadReportingWarnings(
                        path: configPath, explicit: configExplicit
                    )
                    for warning in warnings {
                        logger.warning("configuration warning: \(warning)", metadata: ["key": "\(warning.key ?? "")"])
                    }
                    var runner = try CycleRunner(
                        settings: fresh, logger: logger, verifyDeadline: verifyDeadline, now: now,
                        stopping: waker.stopRequested
                    )
                    runner.carryReporting(from: cycleRunner)
                    settings = fresh
                    cycleRunner = runner
                    reporter.reconfigure(fresh)
                    await shared.update(settings: fresh)
                    logger.notice("configuration reloaded from \(configPath)")
                } catch {
                    logger.error(
                        "configuration reload failed, keeping the previous configuration: \(error)",
                        metadata: ["reason": "\(error)"]
                    )
                }
                readyPending = true
            }
            for case .restartRequested(let reason) in wakes { force = reason }
        }
    }

    // MARK: Control socket

    public func status() async -> StatusDocument {
        var document = await shared.document ?? StatusDocument.starting(now: now())
        document.process = ProcessFootprint.measure(cycles: await shared.cycles)
        document.process?.heapAfterCycleBytes = await shared.heapAfterCycle
        return document
    }

    public func reprobe() async -> Result<String, ControlFailure> {
        waker.wake(.reprobe)
        return .success("observing now; ask for status in a moment")
    }

    public func restartAgent(reason: String) async -> Result<String, ControlFailure> {
        if let refusal = await shared.refusalForOperatorRestart(now: now()) {
            return .failure(ControlFailure(message: refusal))
        }
        logger.notice("operator asked for an agent restart: \(reason)", metadata: ["reason": "\(reason)"])
        waker.wake(.restartRequested(reason: reason))
        return .success("restart requested; the safety checks, cooldown and budget still apply (see ecsvpcd status)")
    }
}

/// What the loop shares with the control socket.
actor DaemonShared {
    var settings: Settings
    var document: StatusDocument?
    var ledger = RestartLedger()
    var policy: RestartPolicy
    /// Cycles completed since the start.
    private(set) var cycles = 0

    init(settings: Settings) {
        self.settings = settings
        policy = RestartPolicy(settings)
    }

    func publish(_ document: StatusDocument, ledger: RestartLedger, policy: RestartPolicy) {
        self.document = document
        self.ledger = ledger
        self.policy = policy
    }

    /// The heap in use right after the last cycle.
    private(set) var heapAfterCycle = 0

    func cycleCompleted(heapInUse: Int) {
        heapAfterCycle = heapInUse
        cycles += 1
    }

    func update(settings: Settings) {
        self.settings = settings
    }

    /// Why an operator restart cannot happen now (cooldown, budget), or nil.
    func refusalForOperatorRestart(now: Date) -> String? {
        let recent = ledger.restartsInLastDay(before: now)
        if recent.count >= policy.budget {
            return "refused: the restart budget of \(policy.budget) per 24 h is spent"
        }
        if let last = ledger.restarts.last {
            let until = last.at.addingTimeInterval(RestartPlanner.seconds(policy.cooldown))
            if until > now {
                return "refused: in the cooldown after the last restart until \(until)"
            }
        }
        return nil
    }
}

extension StatusDocument {
    /// The document served before the first observation completes.
    static func starting(now: Date) -> StatusDocument {
        StatusDocument(
            source: "daemon", health: .unknown, summary: "starting: first observation in progress",
            instance: Instance(id: nil, region: "", dnsSuffix: "", vpcCIDRs: [], endpointCIDRs: []),
            endpoints: [], configuration: .unresolved, agent: nil, restart: nil, findings: [], updatedAt: now
        )
    }
}
