import Foundation
import Synchronization
import Testing

@testable import ECSVPCD

/// Counts what the daemon would tell systemd.
private final class RecordingNotifier: ServiceNotifying {
    let watchdogInterval: Duration?
    private let pings = Mutex<[ContinuousClock.Instant]>([])

    init(watchdogInterval: Duration?) { self.watchdogInterval = watchdogInterval }

    var pingTimes: [ContinuousClock.Instant] { pings.withLock { $0 } }
    func ready(status: String) {}
    func status(_ line: String) {}
    func reloading() {}
    func stopping() {}
    func watchdog() { pings.withLock { $0.append(.now) } }
}

@Suite("Watchdog pings from a timer on the loop")
struct WatchdogPingerTests {
    @Test("pings at once and every interval, also while a long cycle waits")
    func pingsDuringACycle() async throws {
        let interval = Duration.milliseconds(50)
        let notifier = RecordingNotifier(watchdogInterval: interval)
        let pinger = WatchdogPinger(notifier: notifier, longestCycle: .seconds(60))
        pinger.start()
        pinger.start()
        defer { pinger.stop() }
        #expect(notifier.pingTimes.count == 1)
        pinger.cycleStarted()
        try await waitUntil("six pings while the cycle runs") { notifier.pingTimes.count >= 6 }
        // One timer, not two: a timer never fires early, so consecutive pings are at least an interval apart
        // (a busy machine only makes them further apart). Two timers would ping in pairs.
        let times = notifier.pingTimes
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        #expect(gaps.allSatisfy { $0 >= interval * 0.9 }, "\(gaps)")
    }

    @Test("a cycle running past the longest one expected stops the pings; they resume when it ends")
    func stuckCycleStopsPings() async throws {
        let notifier = RecordingNotifier(watchdogInterval: .milliseconds(20))
        let longestCycle = Duration.milliseconds(100)
        let pinger = WatchdogPinger(notifier: notifier, longestCycle: longestCycle)
        pinger.start()
        defer { pinger.stop() }
        pinger.cycleStarted()
        // A tick decides before it pings, so allow one ping that decided just before the limit.
        let stuckSince = ContinuousClock.now + longestCycle * 2
        try await waitUntil("the cycle is past its limit") { ContinuousClock.now > stuckSince }
        // Absence can only be watched for a while: ten intervals (a loaded machine ticks less, never more).
        try await Task.sleep(for: .milliseconds(200))
        #expect(notifier.pingTimes.filter { $0 > stuckSince }.isEmpty, "\(notifier.pingTimes.count) pings")
        pinger.cycleEnded()
        let ended = ContinuousClock.now
        try await waitUntil("two pings after the cycle ended") { notifier.pingTimes.filter { $0 > ended }.count >= 2 }
    }

    /// Polls `condition` until it holds; fails after `timeout` (a deadline for a loaded machine, not a speed).
    private func waitUntil(_ what: String, timeout: Duration = .seconds(10), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out after \(timeout) waiting until \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test("no watchdog configured: no pings")
    func noWatchdog() async throws {
        let notifier = RecordingNotifier(watchdogInterval: nil)
        let pinger = WatchdogPinger(notifier: notifier, longestCycle: .seconds(1))
        pinger.start()
        try await Task.sleep(for: .milliseconds(100))
        #expect(notifier.pingTimes.isEmpty)
        pinger.stop()
    }
}
