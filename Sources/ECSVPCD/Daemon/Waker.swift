import NIOCore
import NIOPosix
import Synchronization

/// Why the daemon loop woke before its interval ran out.
public enum Wake: Sendable, Equatable {
    case reload
    case reprobe
    case restartRequested(reason: String)
    case shutdown
}

/// Lets the loop sleep until its next cycle while SIGHUP, the control socket or shutdown can wake it early.
///
/// `wake` is synchronous, so a graceful-shutdown handler or a signal loop can call it directly. The timeout is a
/// timer on an event loop (the one the daemon runs on), so a wait costs no thread of its own.
final class Waker: Sendable {
    private struct State {
        var pending: [Wake] = []
        var waiter: CheckedContinuation<Void, Never>?
        var generation = 0
        var stopRequested = false
    }

    private let state = Mutex(State())
    private let eventLoop: any EventLoop

    init(eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any()) {
        self.eventLoop = eventLoop
    }

    /// True once a `.shutdown` wake came, whether or not a wait has taken it yet: work in the middle of a cycle
    /// (a restart about to start, a verification) asks this to stop early.
    var stopRequested: @Sendable () -> Bool {
        { self.state.withLock { $0.stopRequested } }
    }

    func wake(_ reason: Wake) {
        let waiter = state.withLock { state in
            if reason == .shutdown { state.stopRequested = true }
            state.pending.append(reason)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Waits up to `timeout`; returns what woke it, if anything did.
    func wait(timeout: Duration) async -> [Wake] {
        let generation = state.withLock { state in
            state.generation += 1
            return state.generation
        }
        let timer = eventLoop.scheduleTask(in: TimeAmount(timeout)) { self.timeUp(generation) }
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state in
                if !state.pending.isEmpty || state.generation != generation { return true }
                state.waiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
        timer.cancel()
        return state.withLock { state in
            defer { state.pending.removeAll() }
            return state.pending
        }
    }

    private func timeUp(_ generation: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.generation == generation else { return nil }
            // A later wait must not be woken by this one's timer.
            state.generation += 1
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
