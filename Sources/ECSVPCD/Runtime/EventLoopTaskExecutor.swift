import NIOCore
import NIOPosix

/// Runs Swift concurrency jobs on one NIO event loop, so the process does its I/O and its async code on one thread.
///
/// A check or a daemon cycle is a handful of sockets and a few awaits on their futures; spread over Swift's global
/// pool and NIO's loops, most of its CPU went to waking threads and switching between them. With a task executor
/// preference for the loop, a task, its children and every nonisolated function it awaits run on the loop thread,
/// and a future completed there resumes its awaiting task without another thread.
public final class EventLoopTaskExecutor: TaskExecutor {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}

/// How the executable runs its command: one event loop thread for I/O and async code, one thread for blocking calls.
public enum SingleLoopRuntime {
    /// Sizes NIO's singletons (call before anything uses them) and runs `body` on the singleton group's only loop.
    public static func run(_ body: @escaping @Sendable () async -> Void) async {
        NIOSingletons.groupLoopCountSuggestion = 1
        NIOSingletons.blockingPoolThreadCountSuggestion = 1
        let executor = EventLoopTaskExecutor(MultiThreadedEventLoopGroup.singleton.next())
        await Task(executorPreference: executor) { await body() }.value
    }
}
