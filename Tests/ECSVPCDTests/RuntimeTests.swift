import ECSVPCD
import NIOCore
import NIOPosix
import Testing

@Suite("Single loop runtime")
struct RuntimeTests {
    @Test("a task preferring the loop's executor runs itself, its children and what it awaits on that loop")
    func runsOnTheLoop() async {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let seen = await Task(executorPreference: EventLoopTaskExecutor(loop)) { () async -> [Bool] in
            let own = loop.inEventLoop
            async let child = loop.inEventLoop
            let afterFuture = await {
                _ = try? await loop.scheduleTask(in: .milliseconds(1)) {}.futureResult.get()
                return loop.inEventLoop
            }()
            return [own, await child, afterFuture]
        }.value
        #expect(seen == [true, true, true])
    }
}
