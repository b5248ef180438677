import NIOCore
import NIOPosix

/// Sleeping on a timer of the event loop, for everything that waits in ecsvpcd.
///
/// `Task.sleep` hands its wake-up to libdispatch's timers even for a task that runs on our event loop (there is
/// no public way for a task executor to take them), and on a thread that libdispatch did not make every such
/// wake-up kept a dispatch continuation (48 bytes) for good: a daemon whose instance metadata failed leaked
/// about 300 bytes a cycle from its retry backoff alone. A NIO timer costs nothing that outlives it.
enum LoopSleep {
    /// Sleeps for `duration`; throws `CancellationError` when the task is cancelled first.
    static func sleep(
        for duration: Duration, on eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any()
    ) async throws(CancellationError) {
        guard !Task.isCancelled else { throw CancellationError() }
        let timer = eventLoop.scheduleTask(in: TimeAmount(duration)) {}
        do {
            try await withTaskCancellationHandler {
                try await timer.futureResult.get()
            } onCancel: {
                timer.cancel()
            }
        } catch {
            throw CancellationError()
        }
    }
}
