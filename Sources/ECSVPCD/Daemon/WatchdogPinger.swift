import NIOCore
import NIOPosix
import Synchronization

/// Pings the service manager's watchdog (`WATCHDOG=1`) from a timer on the daemon's event loop.
///
/// A cycle may wait a long time for I/O and still be healthy: a restart is verified for up to two minutes, longer
/// than `WatchdogSec=90s`. Pinging only between cycles would let systemd kill ecsvpcd in the middle of a restart.
/// A timer on the loop keeps pinging while the loop turns; a blocked loop thread stops it, and so does a cycle
/// running far longer than anything it waits for (`longestCycle`), so systemd still restarts a stuck daemon.
final class WatchdogPinger: Sendable {
    private let notifier: any ServiceNotifying
    private let longestCycle: Duration
    private let eventLoop: any EventLoop
    private let state = Mutex<(timer: RepeatedTask?, cycleStart: ContinuousClock.Instant?)>((nil, nil))

    init(
        notifier: any ServiceNotifying,
        longestCycle: Duration,
        eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any()
    ) {
        self.notifier = notifier
        self.longestCycle = longestCycle
        self.eventLoop = eventLoop
    }

    /// Pings now and every `watchdogInterval` from then on; nothing when the service manager expects no pings.
    /// Call once start-up is done (after `READY=1`); calling again changes nothing.
    func start() {
        guard let interval = notifier.watchdogInterval else { return }
        let started = state.withLock { state -> Bool in
            guard state.timer == nil else { return false }
            state.timer = eventLoop.scheduleRepeatedTask(initialDelay: TimeAmount(interval), delay: TimeAmount(interval)) {
                _ in self.tick()
            }
            return true
        }
        if started { notifier.watchdog() }
    }

    func stop() {
        state.withLock { state in
            state.timer?.cancel()
            state.timer = nil
        }
    }

    func cycleStarted() { state.withLock { $0.cycleStart = ContinuousClock.now } }

    func cycleEnded() { state.withLock { $0.cycleStart = nil } }

    private func tick() {
        let cycleStart = state.withLock { $0.cycleStart }
        if let cycleStart, ContinuousClock.now - cycleStart > longestCycle { return }
        notifier.watchdog()
    }
}
