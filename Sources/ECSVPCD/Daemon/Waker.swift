/// Why the daemon loop woke before its interval ran out.
public enum Wake: Sendable, Equatable {
    case reload
    case reprobe
    case restartRequested(reason: String)
    case shutdown
}

/// Lets the loop sleep until its next cycle while SIGHUP, the control socket or shutdown can wake it early.
actor Waker {
    private var pending: [Wake] = []
    private var waiter: CheckedContinuation<Void, Never>?
    private var generation = 0

    func wake(_ reason: Wake) {
        pending.append(reason)
        resume()
    }

    /// Waits up to `timeout`; returns what woke it, if anything did.
    func wait(timeout: Duration) async -> [Wake] {
        if pending.isEmpty {
            generation += 1
            let mine = generation
            let timer = Task { [weak self] in
                try? await Task.sleep(for: timeout)
                await self?.timeUp(mine)
            }
            await withCheckedContinuation { waiter = $0 }
            timer.cancel()
        }
        defer { pending.removeAll() }
        return pending
    }

    private func timeUp(_ mine: Int) {
        if mine == generation { resume() }
    }

    private func resume() {
        waiter?.resume()
        waiter = nil
    }
}
