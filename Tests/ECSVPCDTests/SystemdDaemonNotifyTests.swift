import Foundation
import Testing

@testable import ECSVPCD

/// The built `ecsvpcd run` as systemd sees it over `NOTIFY_SOCKET`: readiness, status lines, watchdog pings,
/// reload and stop, against a scenario with every peer on loopback (the names stay public, so no restart).
@Suite("ecsvpcd run talking sd_notify to a NOTIFY_SOCKET listener")
struct SystemdDaemonNotifyTests {
    /// `WATCHDOG_USEC` of the test: pings are due every 0.5 s, and systemd would act after 1 s without one.
    static let watchdog = Duration.seconds(1)

    /// `WATCHDOG_PID` must be ecsvpcd's own pid, known only once it runs: the shell exports its own and execs.
    static let wrapper = #"export WATCHDOG_PID=$$; log=$1; shift; exec "$@" >>"$log" 2>&1"#

    @Test("READY after the first cycle, STATUS when it changes, pings at half WATCHDOG_USEC, RELOADING/READY, STOPPING")
    func lifecycle() async throws {
        let scenario = try await DaemonScenario()
        defer { scenario.stop() }
        let config = try scenario.writeConfig(["ECSVPCD_INTERVAL": "1s", "ECSVPCD_RESTART": "never"])
        let listener = try NotifyListener()
        let daemon = try PeerProcess(
            "/bin/sh", ["-c", Self.wrapper, "sh", scenario.logPath, try builtECSVPCD(), "run", "--config", config],
            name: "ecsvpcd",
            environment: [
                "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "NOTIFY_SOCKET": listener.path,
                "WATCHDOG_USEC": String(Self.watchdog.components.seconds * 1_000_000),
            ]
        )
        defer {
            daemon.signal(SIGCONT)
            daemon.stop()
        }
        let log = { "--- daemon log ---\n\(scenario.log)" }

        // Ready once the first observation is done, and not before: nothing comes ahead of READY=1.
        let ready = try #require(await Self.next(listener, timeout: .seconds(30)), "no notification\n\(log())")
        #expect(ready.fields["READY"] == "1", "\(ready.text)")
        let firstStatus = try #require(ready.fields["STATUS"], "\(ready.text)")
        #expect(!firstStatus.isEmpty && !firstStatus.hasPrefix("starting"), "\(firstStatus)")
        #expect(scenario.savedStatus() != nil)

        // Four seconds of the loop (1 s interval) with nothing changing: no STATUS repeating the last one, pings
        // never further apart than half WATCHDOG_USEC plus one cycle, well within WATCHDOG_USEC.
        let running = try await Self.collect(listener, for: .seconds(4))
        let statuses = running.compactMap { $0.fields["STATUS"] }
        #expect(zip([firstStatus] + statuses, statuses).allSatisfy { $0 != $1 }, "\(running.map(\.text))")

        // One name moves to the VPC (partial: no restart): the next cycle sends the new STATUS.
        try await scenario.route(.vpc, only: [DaemonScenario.names[0]])
        let changed = try #require(
            await Self.next(listener, timeout: .seconds(10)) { $0.fields["STATUS"] != nil }, "no STATUS\n\(log())"
        )
        #expect(changed.fields["READY"] == nil)
        #expect(changed.fields["STATUS"] != firstStatus && changed.fields["STATUS"]?.isEmpty == false, "\(changed.text)")
        // Judged by their spacing when sent (the kernel's timestamps, which a late read does not shift), not by a
        // count in the window (a loaded machine runs timers late): at least two, never further apart than
        // WATCHDOG_USEC (systemd's limit), never closer than half of it (the interval asked for; a timer never
        // fires early, so closer pings would mean two timers).
        let pings = try running.filter { $0.text == "WATCHDOG=1\n" }.map { try #require($0.queuedAt) }
        #expect(pings.count >= 2, "\(pings.count) pings in 4 s")
        let gaps = zip(pings.dropFirst(), pings).map { $0 - $1 }
        #expect(gaps.allSatisfy { $0 < Self.watchdog }, "gaps between pings: \(gaps)")
        #expect(gaps.allSatisfy { $0 >= Self.watchdog / 2 * 0.9 }, "gaps between pings: \(gaps)")
        #expect(running.allSatisfy { $0.fields["READY"] == nil && $0.fields["STOPPING"] == nil })

        // A stopped loop sends nothing: no pings while it is blocked (SIGSTOP) for 2 s; they resume after SIGCONT.
        kill(daemon.pid, SIGSTOP)
        try await Self.waitUntilStopped(daemon.pid)
        _ = try await Self.collect(listener, for: .milliseconds(100))
        let whileStopped = try await Self.collect(listener, for: .seconds(2))
        #expect(whileStopped.isEmpty, "\(whileStopped.map(\.text))")
        kill(daemon.pid, SIGCONT)
        let resumed = try await Self.next(listener, timeout: .seconds(10)) { $0.text == "WATCHDOG=1\n" }
        #expect(resumed != nil, "no ping after SIGCONT\n\(log())")

        // SIGHUP: RELOADING=1 with the monotonic time it began, then READY=1 with a fresh STATUS.
        _ = try await Self.collect(listener, for: .zero)
        let beforeReload = SystemdNotifier.monotonicMicroseconds()
        daemon.signal(SIGHUP)
        let reloading = try #require(
            await Self.next(listener, timeout: .seconds(5)) { $0.fields["RELOADING"] != nil }, "no RELOADING\n\(log())"
        )
        let afterReload = SystemdNotifier.monotonicMicroseconds()
        #expect(reloading.fields["RELOADING"] == "1")
        let stamp = try #require(reloading.fields["MONOTONIC_USEC"].flatMap(UInt64.init), "\(reloading.text)")
        #expect(beforeReload <= stamp && stamp <= afterReload)
        let reloaded = try #require(
            await Self.next(listener, timeout: .seconds(10)) { $0.fields["READY"] != nil }, "no READY\n\(log())"
        )
        #expect(reloaded.fields["READY"] == "1")
        #expect(reloaded.fields["STATUS"]?.isEmpty == false, "\(reloaded.text)")
        #expect(scenario.log.contains("configuration reloaded from \(config)"), "\(log())")

        // SIGTERM: STOPPING=1, then exit 0.
        daemon.signal(SIGTERM)
        let stopping = try await Self.next(listener, timeout: .seconds(10)) { $0.fields["STOPPING"] != nil }
        #expect(stopping?.text == "STOPPING=1\n", "\(log())")
        let deadline = ContinuousClock.now + .seconds(10)
        while daemon.process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try #require(!daemon.process.isRunning, "ecsvpcd did not exit after SIGTERM\n\(log())")
        #expect(daemon.process.terminationStatus == 0, "\(log())")
    }

    /// The next message that `matching` accepts, skipping others, read off the cooperative pool.
    static func next(
        _ listener: NotifyListener,
        timeout: Duration,
        matching: @escaping @Sendable (NotifyListener.Message) -> Bool = { _ in true }
    ) async throws -> NotifyListener.Message? {
        try await offThread {
            let deadline = ContinuousClock.now + timeout
            while case let remaining = deadline - ContinuousClock.now, remaining > .zero {
                guard let message = listener.next(timeout: remaining) else { return nil }
                if matching(message) { return message }
            }
            return nil
        }
    }

    /// Everything that arrives within `duration` (zero: what is queued now).
    static func collect(_ listener: NotifyListener, for duration: Duration) async throws -> [NotifyListener.Message] {
        try await offThread {
            var messages = listener.drain()
            let deadline = ContinuousClock.now + duration
            while case let remaining = deadline - ContinuousClock.now, remaining > .zero {
                if let message = listener.next(timeout: remaining) { messages.append(message) }
            }
            return messages
        }
    }

    /// Waits until /proc says the process is stopped (state T).
    static func waitUntilStopped(_ pid: Int32) async throws {
        let deadline = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < deadline {
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            // pid (comm) STATE …: the state follows the last ')'.
            if let close = stat.lastIndex(of: ")"), stat[stat.index(after: close)...].hasPrefix(" T") { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw HarnessFailure("process \(pid) did not stop")
    }
}
