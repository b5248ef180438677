import ECSVPCCore
import FoundationEssentials
import Glibc
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// What the control socket asks of the daemon. The server does the wire protocol and access control;
/// the daemon answers.
public protocol ControlHandling: Sendable {
    /// The daemon's current status document.
    func status() async -> StatusDocument
    /// Observe now; the message says what happens next.
    func reprobe() async -> Result<String, ControlFailure>
    /// Restart the agent now (safety checks still apply); the message says what happens next.
    func restartAgent(reason: String) async -> Result<String, ControlFailure>
}

/// An action the daemon could not do; `message` says why and what to do, and reaches the client as is.
public struct ControlFailure: Error, Sendable, Hashable {
    public var message: String

    public init(message: String) {
        self.message = message
    }
}

/// The daemon's control socket (the protocol is in `ControlRequest`): a unix stream socket on SwiftNIO,
/// bounded so one client can neither stop it nor starve the others.
///
/// Bytes are read on the event loop, with a size cap and a read deadline; parsed requests go to the
/// `run()` task, which answers each in its own child task. Runs as a `Service` until graceful shutdown or
/// cancellation, then closes every connection and removes the socket.
public final class ControlServer: Service, Sendable {
    /// Bounds on what one connection may take.
    public struct Limits: Sendable {
        /// The longest request line, newline included.
        public var maxRequestBytes = ControlRequest.maxLineBytes
        /// How long a client has to send its whole request line.
        public var readDeadline: Duration = .seconds(2)
        /// Connections beyond this are closed as soon as they are accepted.
        public var maxConnections = 256

        public init() {}
    }

    public let path: String
    public let statusGroup: String
    private let handler: any ControlHandling
    private let logger: Logger
    private let limits: Limits
    private let connections = Mutex(Connections())

    public init(path: String, statusGroup: String, handler: any ControlHandling, logger: Logger, limits: Limits = Limits()) {
        self.path = path
        self.statusGroup = statusGroup
        self.handler = handler
        self.logger = logger
        self.limits = limits
    }

    /// Serves until the task is cancelled or graceful shutdown begins; removes the socket at the end.
    public func run() async throws {
        let file = ControlSocketFile(path: path)
        let gid = ControlSocketFile.groupID(named: statusGroup)
        if gid == nil {
            logger.warning(
                "status group does not exist: the control socket is for root only",
                metadata: ["group": "\(statusGroup)", "path": "\(path)"]
            )
        }
        let access = ControlAccess(groupName: statusGroup, gid: gid)
        try file.prepareDirectory()
        file.removeStaleTemporary()

        let (jobs, submitter) = AsyncStream.makeStream(of: ControlJob.self)
        let limits = self.limits
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: Int32(clamping: limits.maxConnections))
            // A client may shut down its side after the request (`nc -N`) and still wants the reply.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { [self] channel in
                guard admit(channel) else { return channel.close() }
                return peerCredentials(of: channel).flatMapThrowing { peer in
                    try channel.pipeline.syncOperations.addHandler(
                        ControlConnectionHandler(peer: peer, limits: limits, submit: { submitter.yield($0) })
                    )
                }
            }
            .bind(unixDomainSocketPath: file.temporaryPath, cleanupExistingSocketFile: true)
            .get()

        let installed: (dev: UInt, ino: UInt)?
        do {
            let (mode, groupError) = file.secure(file.temporaryPath, gid: gid)
            if let groupError { logger.warning("\(groupError); the control socket is for root only", metadata: ["path": "\(path)"]) }
            try file.install(from: file.temporaryPath)
            installed = file.inode()
            logger.info(
                "control socket listening",
                metadata: ["path": "\(path)", "group": "\(statusGroup)", "mode": "\(String(mode, radix: 8))"]
            )
        } catch {
            try? await server.close()
            unlink(file.temporaryPath)
            throw error
        }

        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for await job in jobs {
                    group.addTask { await self.answer(job, access: access) }
                }
            }
        } onGracefulShutdown: {
            submitter.finish()
        }
        submitter.finish()

        try? await server.close()
        let open = connections.withLock { $0.open.values }
        for channel in open { channel.close(promise: nil) }
        file.remove(ifInode: installed)
        logger.info("control socket closed", metadata: ["path": "\(path)"])
    }

    private func answer(_ job: ControlJob, access: ControlAccess) async {
        let reply: ControlReply
        if let refusal = access.authorize(job.request, peer: job.peer) {
            logger.notice(
                "control request refused",
                metadata: ["command": "\(job.request.command)", "peer": "\(job.peer.map(\.description) ?? "unknown")"]
            )
            reply = .failure(refusal)
        } else {
            switch job.request {
            case .status:
                reply = .status(await handler.status())
            case .reprobe:
                logger.notice("reprobe requested over the control socket", metadata: ["peer": "\(job.peer?.description ?? "")"])
                reply = Self.reply(await handler.reprobe())
            case .restartAgent(let reason):
                logger.notice(
                    "agent restart requested over the control socket",
                    metadata: ["peer": "\(job.peer?.description ?? "")", "reason": "\(reason)"]
                )
                reply = Self.reply(await handler.restartAgent(reason: reason))
            }
        }
        job.respond(reply)
    }

    private static func reply(_ result: Result<String, ControlFailure>) -> ControlReply {
        switch result {
        case .success(let message): .done(message: message)
        case .failure(let failure): .failure(ControlReply.Failure(.failed, failure.message))
        }
    }

    /// The connections counted in now (for tests that wait for the server rather than for the clock).
    var openConnectionCount: Int { connections.withLock { $0.open.count } }

    /// Counts the connection in, or says it is one too many (logged at most every 10 s).
    private func admit(_ channel: any Channel) -> Bool {
        let id = ObjectIdentifier(channel)
        let (admitted, warn) = connections.withLock { state -> (Bool, Bool) in
            guard state.open.count < limits.maxConnections else {
                let now = ContinuousClock.now
                let warn = state.lastRefusalWarning.map { now - $0 > .seconds(10) } ?? true
                if warn { state.lastRefusalWarning = now }
                return (false, warn)
            }
            state.open[id] = channel
            return (true, false)
        }
        if warn {
            logger.warning(
                "too many control connections: closing new ones",
                metadata: ["path": "\(path)", "limit": "\(limits.maxConnections)"]
            )
        }
        if admitted {
            channel.closeFuture.whenComplete { [self] _ in
                _ = connections.withLock { $0.open.removeValue(forKey: id) }
            }
        }
        return admitted
    }

    /// SO_PEERCRED of an accepted connection; nil if the kernel would not say (then only refusals follow).
    private func peerCredentials(of channel: any Channel) -> EventLoopFuture<ControlPeer?> {
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeSucceededFuture(nil)
        }
        let future: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED)
        )
        return future.map { Optional(ControlPeer(pid: $0.pid, uid: $0.uid, gid: $0.gid)) }
            .recover { _ in nil }
    }

    private struct Connections {
        var open: [ObjectIdentifier: any Channel] = [:]
        var lastRefusalWarning: ContinuousClock.Instant?
    }
}

/// The layout of Linux `struct ucred` (pid_t, uid_t, gid_t), what SO_PEERCRED fills in.
private struct PeerCredentials: Sendable {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32
}

/// A parsed request on its way from the event loop to the `run()` task, with a way back to its connection.
struct ControlJob: Sendable {
    var request: ControlRequest
    var peer: ControlPeer?
    var channel: any Channel

    /// Writes the reply line and closes the connection.
    func respond(_ reply: ControlReply) {
        ControlConnectionHandler.send(reply, on: channel)
    }
}

/// One connection on the event loop: collects one request line within the size and time bounds, answers
/// protocol errors itself and hands requests to the server.
final class ControlConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case reading
        case answering
    }

    private let peer: ControlPeer?
    private let limits: ControlServer.Limits
    private let submit: @Sendable (ControlJob) -> AsyncStream<ControlJob>.Continuation.YieldResult
    private var state = State.reading
    private var received: ByteBuffer?
    private var deadline: Scheduled<Void>?

    init(
        peer: ControlPeer?, limits: ControlServer.Limits,
        submit: @escaping @Sendable (ControlJob) -> AsyncStream<ControlJob>.Continuation.YieldResult
    ) {
        self.peer = peer
        self.limits = limits
        self.submit = submit
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let nanoseconds = limits.readDeadline.components.seconds * 1_000_000_000
            + limits.readDeadline.components.attoseconds / 1_000_000_000
        deadline = context.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) {
            handler.value.readDeadlinePassed(on: channel)
        }
    }

    private func readDeadlinePassed(on channel: any Channel) {
        guard case .reading = state else { return }
        finishReading()
        let seconds = Double(limits.readDeadline.components.seconds)
            + Double(limits.readDeadline.components.attoseconds) / 1e18
        Self.send(
            .failure(.init(.timeout, "no complete request line within \(seconds) s; send one JSON line ending in \\n at once")),
            on: channel
        )
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .reading = state else { return }
        var bytes = unwrapInboundIn(data)
        if received == nil {
            received = bytes
        } else {
            received?.writeBuffer(&bytes)
        }
        guard let buffer = received else { return }
        let view = buffer.readableBytesView
        if let newline = view.firstIndex(of: UInt8(ascii: "\n")), newline - view.startIndex < limits.maxRequestBytes {
            finishReading()
            handle(line: view[view.startIndex..<newline], on: context.channel)
        } else if buffer.readableBytes >= limits.maxRequestBytes {
            finishReading()
            Self.send(
                .failure(.init(.tooLarge, "the request line exceeds \(limits.maxRequestBytes) bytes; send one short JSON line")),
                on: context.channel
            )
        }
    }

    /// The client shut down its sending side: what it sent is the whole request, newline or not.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? ChannelEvent, case .inputClosed = event else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        guard case .reading = state else { return }
        let line = received.map { Array($0.readableBytesView) } ?? []
        finishReading()
        if line.isEmpty {
            context.close(promise: nil)
        } else {
            handle(line: line[...], on: context.channel)
        }
    }

    private func handle(line: some BidirectionalCollection<UInt8>, on channel: any Channel) {
        var line = Array(line)
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        switch ControlRequest.parse(line) {
        case .success(let request):
            if case .terminated = submit(ControlJob(request: request, peer: peer, channel: channel)) {
                Self.send(.failure(.init(.failed, "the daemon is shutting down; try again when it is back")), on: channel)
            }
        case .failure(let failure):
            Self.send(.failure(failure), on: channel)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func finishReading() {
        state = .answering
        received = nil
        deadline?.cancel()
        deadline = nil
    }

    /// Writes `reply` as one line and closes, from any thread.
    static func send(_ reply: ControlReply, on channel: any Channel) {
        let line = reply.line()
        channel.eventLoop.execute {
            guard channel.isActive else { return }
            let buffer = channel.allocator.buffer(bytes: line)
            channel.writeAndFlush(buffer).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
