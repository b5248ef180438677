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
        let notifier = RecordingNotifier(watchdogInterval: .milliseconds(50))
        let pinger = WatchdogPinger(notifier: notifier, longestCycle: .seconds(60))
        let start = ContinuousClock.now
        pinger.start()
        pinger.start()
        defer { pinger.stop() }
        #expect(notifier.pingTimes.count == 1)
        pinger.cycleStarted()
        try await Task.sleep(for: .milliseconds(500))
        let pings = notifier.pingTimes.count
        let intervals = Int((ContinuousClock.now - start) / .milliseconds(50))
        // One every 50 ms (a busy machine may sleep longer than asked, never ping more often), and one timer, not two.
        #expect(pings >= 4)
        #expect(pings <= intervals + 2, "\(pings) pings in \(intervals) intervals")
    }

    @Test("a cycle running past the longest one expected stops the pings; they resume when it ends")
    func stuckCycleStopsPings() async throws {
        let notifier = RecordingNotifier(watchdogInterval: .milliseconds(20))
        let pinger = WatchdogPinger(notifier: notifier, longestCycle: .milliseconds(100))
        pinger.start()
        defer { pinger.stop() }
        pinger.cycleStarted()
        try await Task.sleep(for: .milliseconds(300))
        let stuckSince = ContinuousClock.now
        try await Task.sleep(for: .milliseconds(300))
        #expect(notifier.pingTimes.filter { $0 > stuckSince }.isEmpty)
        pinger.cycleEnded()
        let ended = ContinuousClock.now
        try await Task.sleep(for: .milliseconds(300))
        #expect(notifier.pingTimes.filter { $0 > ended }.count >= 2)
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
