import ECSVPCCore
import NIOCore
import NIOPosix
import Synchronization

/// What came back for one query from one server.
enum DNSReply: Sendable {
    /// A response to our query (over TCP also when its TC bit is set: there is nothing further to try).
    case answer(DNSMessage)
    /// A UDP response with the TC bit: ask again over TCP.
    case truncated
    /// A response with our ID that could not be read, or did not carry our question.
    case malformed(String)

    /// Judges one datagram or TCP message against the query. Nil means "not ours": keep waiting.
    static func classify(_ bytes: [UInt8], for query: DNSMessage, overTCP: Bool) -> DNSReply? {
        do {
            let message = try DNSMessage(decoding: bytes)
            guard message.isResponse(to: query) else {
                // Over TCP the connection is ours alone, so a stranger there is a broken server.
                return overTCP ? .malformed("the answer over TCP does not match the query") : nil
            }
            return message.isTruncated && !overTCP ? .truncated : .answer(message)
        } catch {
            guard DNSMessage.peekID(bytes) == query.id else {
                return overTCP ? .malformed("unreadable answer over TCP: \(error)") : nil
            }
            // A server may cut a truncated datagram anywhere; TCP will give the whole answer.
            if !overTCP && DNSMessage.peekTruncated(bytes) { return .truncated }
            return .malformed("unreadable answer: \(error)")
        }
    }
}

/// Why one exchange with one server gave no reply.
enum DNSExchangeFailure: Error, Sendable {
    /// Nothing within the timeout.
    case timeout
    /// The server could not be reached (ICMP port unreachable, connection refused or reset, …).
    case unreachable(String)
}

/// Sends one query to one server and waits for its reply, over UDP (connected, so ICMP errors are seen) or TCP.
///
/// Queries in flight to the same server at the same time share one connected UDP socket (`DatagramSessions`),
/// as glibc shares one between the A and AAAA of a lookup: a cycle's six queries cost one socket, not six, and
/// each cycle still gets a new socket, so a new random source port.
struct DNSExchange: Sendable {
    let group: any EventLoopGroup
    private let sessions = DatagramSessions()

    init(group: any EventLoopGroup) {
        self.group = group
    }

    func udp(_ query: DNSMessage, to server: DNSServer, timeout: Duration) async -> Result<DNSReply, DNSExchangeFailure> {
        let bytes: [UInt8]
        let session: DatagramSessions.Session
        do {
            bytes = try query.encode()
            session = try sessions.checkout(server, group: group)
        } catch {
            return .failure(.unreachable("cannot send to \(server): \(error)"))
        }
        defer { sessions.release(server, session) }
        let loop = session.loop
        let promise = loop.makePromise(of: DNSReply.self)
        let timer = loop.scheduleTask(in: TimeAmount(timeout)) { promise.fail(DNSExchangeFailure.timeout) }
        defer { timer.cancel() }
        session.channel.whenComplete { result in
            switch result {
            case .success(let channel):
                channel.writeAndFlush(PendingQuery(query: query, bytes: bytes, promise: promise), promise: nil)
            case .failure(let error):
                promise.fail(error)
            }
        }
        return await wait(for: promise)
    }

    func tcp(_ query: DNSMessage, to server: DNSServer, timeout: Duration) async -> Result<DNSReply, DNSExchangeFailure> {
        let loop = group.next()
        let promise = loop.makePromise(of: DNSReply.self)
        let timer = loop.scheduleTask(in: TimeAmount(timeout)) { promise.fail(DNSExchangeFailure.timeout) }
        defer { timer.cancel() }
        let bytes: [UInt8]
        let address: SocketAddress
        do {
            let message = try query.encode()
            bytes = [UInt8(message.count >> 8), UInt8(message.count & 0xff)] + message
            address = try server.socketAddress()
        } catch {
            promise.fail(error)
            return .failure(.unreachable("cannot send to \(server): \(error)"))
        }
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: loop)
                .connectTimeout(TimeAmount(timeout))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(StreamReplyHandler(query: query, promise: promise))
                    }
                }
                .connect(to: address)
                .get()
        } catch {
            promise.fail(error)
            if case ChannelError.connectTimeout = error { return .failure(.timeout) }
            return .failure(.unreachable(Self.describe(error)))
        }
        defer { channel.close(promise: nil) }
        channel.writeAndFlush(ByteBuffer(bytes: bytes)).whenFailure { promise.fail($0) }
        return await wait(for: promise)
    }

    /// The reply, or why there is none; cancellation counts as a timeout.
    private func wait(for promise: EventLoopPromise<DNSReply>) async -> Result<DNSReply, DNSExchangeFailure> {
        do {
            return .success(
                try await withTaskCancellationHandler {
                    try await promise.futureResult.get()
                } onCancel: {
                    promise.fail(CancellationError())
                })
        } catch let failure as DNSExchangeFailure {
            return .failure(failure)
        } catch is CancellationError {
            return .failure(.timeout)
        } catch {
            return .failure(.unreachable(Self.describe(error)))
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return "connection refused"
            case ECONNRESET: return "connection reset"
            case ENETUNREACH: return "network unreachable"
            case EHOSTUNREACH: return "host unreachable"
            default: return "\(error)"
            }
        }
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first {
            return describe(first.error)
        }
        return "\(error)"
    }
}

/// A query on its way out through a shared datagram socket: the demultiplexer remembers it, then sends it.
private struct PendingQuery: Sendable {
    var query: DNSMessage
    var bytes: [UInt8]
    var promise: EventLoopPromise<DNSReply>
}

/// The connected UDP sockets in use, one per server, each shared by the queries in flight to it and closed when
/// the last of them is done.
private final class DatagramSessions: Sendable {
    struct Session: Sendable {
        let loop: any EventLoop
        let channel: EventLoopFuture<any Channel>
    }

    private let open = Mutex<[DNSServer: (session: Session, users: Int)]>([:])

    func checkout(_ server: DNSServer, group: any EventLoopGroup) throws -> Session {
        try open.withLock { open in
            if let entry = open[server] {
                open[server] = (entry.session, entry.users + 1)
                return entry.session
            }
            let address = try server.socketAddress()
            let loop = group.next()
            let channel = DatagramBootstrap(group: loop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(DatagramDemultiplexer())
                    }
                }
                .connect(to: address)
            let session = Session(loop: loop, channel: channel)
            open[server] = (session, 1)
            // A closed socket (a refusal closes it when a send reports it) is not handed out again.
            channel.whenSuccess { $0.closeFuture.whenComplete { _ in self.forget(server, session) } }
            return session
        }
    }

    private func forget(_ server: DNSServer, _ session: Session) {
        open.withLock { open in
            if open[server]?.session.channel === session.channel { open[server] = nil }
        }
    }

    func release(_ server: DNSServer, _ session: Session) {
        let last = open.withLock { open -> Bool in
            guard let entry = open[server], entry.session.channel === session.channel else { return false }
            guard entry.users <= 1 else {
                open[server] = (entry.session, entry.users - 1)
                return false
            }
            open[server] = nil
            return true
        }
        if last { session.channel.whenSuccess { $0.close(promise: nil) } }
    }
}

/// Sends the queries written to it and completes each one's promise with the first datagram that answers it;
/// strangers are dropped. A socket error (ICMP port unreachable, …) fails every query in flight on it.
private final class DatagramDemultiplexer: ChannelDuplexHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundIn = PendingQuery
    typealias OutboundOut = ByteBuffer

    private var pending: [UInt16: PendingQuery] = [:]
    /// What went wrong on the socket: an ICMP error belongs to no query in particular, so it is every query's.
    private var socketError: (any Error)?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var outgoing = unwrapOutboundIn(data)
        if let socketError {
            outgoing.promise.fail(socketError)
            promise?.fail(socketError)
            return
        }
        // Two queries in flight with one ID could take each other's answer: give the newcomer a free one.
        while pending[outgoing.query.id] != nil {
            outgoing.query.id = UInt16.random(in: 0...UInt16.max)
            outgoing.bytes[0] = UInt8(outgoing.query.id >> 8)
            outgoing.bytes[1] = UInt8(outgoing.query.id & 0xff)
        }
        pending[outgoing.query.id] = outgoing
        let written = promise ?? context.eventLoop.makePromise()
        // Linux reports a refusal to the next send as often as to a read; either way it fails them all.
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        written.futureResult.whenFailure { handler.value.failAll($0) }
        context.write(wrapOutboundOut(ByteBuffer(bytes: outgoing.bytes)), promise: written)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(unwrapInboundIn(data).data.readableBytesView)
        guard let id = DNSMessage.peekID(bytes), let waiting = pending[id],
            let reply = DNSReply.classify(bytes, for: waiting.query, overTCP: false)
        else { return }
        pending[id] = nil
        waiting.promise.succeed(reply)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(socketError ?? DNSExchangeFailure.unreachable("socket closed"))
        context.fireChannelInactive()
    }

    private func failAll(_ error: any Error) {
        if socketError == nil { socketError = error }
        let waiting = pending.values
        pending.removeAll()
        for query in waiting { query.promise.fail(error) }
    }
}

/// Reads one length-prefixed message from a TCP stream (RFC 1035 4.2.2).
private final class StreamReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    let query: DNSMessage
    let promise: EventLoopPromise<DNSReply>
    private var received: [UInt8] = []

    init(query: DNSMessage, promise: EventLoopPromise<DNSReply>) {
        self.query = query
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received.append(contentsOf: unwrapInboundIn(data).readableBytesView)
        guard received.count >= 2 else { return }
        let length = Int(received[0]) << 8 | Int(received[1])
        guard received.count >= 2 + length else { return }
        let message = Array(received[2..<2 + length])
        promise.succeed(
            DNSReply.classify(message, for: query, overTCP: true) ?? .malformed("the answer over TCP does not match"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(DNSExchangeFailure.unreachable("connection closed before a whole answer"))
    }
}
