import ECSVPCCore
import NIOCore
import NIOPosix

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
struct DNSExchange: Sendable {
    let group: any EventLoopGroup

    func udp(_ query: DNSMessage, to server: DNSServer, timeout: Duration) async -> Result<DNSReply, DNSExchangeFailure> {
        await exchange(query, server: server, timeout: timeout) { loop, address, promise in
            try await DatagramBootstrap(group: loop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(DatagramReplyHandler(query: query, promise: promise))
                    }
                }
                .connect(to: address)
                .get()
        } frame: { bytes in
            bytes
        }
    }

    func tcp(_ query: DNSMessage, to server: DNSServer, timeout: Duration) async -> Result<DNSReply, DNSExchangeFailure> {
        await exchange(query, server: server, timeout: timeout) { loop, address, promise in
            try await ClientBootstrap(group: loop)
                .connectTimeout(TimeAmount(timeout))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(StreamReplyHandler(query: query, promise: promise))
                    }
                }
                .connect(to: address)
                .get()
        } frame: { bytes in
            [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xff)] + bytes
        }
    }

    private func exchange(
        _ query: DNSMessage,
        server: DNSServer,
        timeout: Duration,
        connect: (any EventLoop, SocketAddress, EventLoopPromise<DNSReply>) async throws -> any Channel,
        frame: ([UInt8]) -> [UInt8]
    ) async -> Result<DNSReply, DNSExchangeFailure> {
        let loop = group.next()
        let promise = loop.makePromise(of: DNSReply.self)
        let timer = loop.scheduleTask(in: TimeAmount(timeout)) { promise.fail(DNSExchangeFailure.timeout) }
        defer { timer.cancel() }
        let bytes: [UInt8]
        let address: SocketAddress
        do {
            bytes = frame(try query.encode())
            address = try SocketAddress(ipAddress: server.address.description, port: server.port)
        } catch {
            promise.fail(error)
            return .failure(.unreachable("cannot send to \(server): \(error)"))
        }
        let channel: any Channel
        do {
            channel = try await connect(loop, address, promise)
        } catch {
            promise.fail(error)
            if case ChannelError.connectTimeout = error { return .failure(.timeout) }
            return .failure(.unreachable(Self.describe(error)))
        }
        defer { channel.close(promise: nil) }
        channel.writeAndFlush(ByteBuffer(bytes: bytes)).whenFailure { promise.fail($0) }
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

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// Completes the promise with the first datagram that answers the query; strangers are dropped.
private final class DatagramReplyHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    let query: DNSMessage
    let promise: EventLoopPromise<DNSReply>

    init(query: DNSMessage, promise: EventLoopPromise<DNSReply>) {
        self.query = query
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        if let reply = DNSReply.classify(Array(envelope.data.readableBytesView), for: query, overTCP: false) {
            promise.succeed(reply)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(DNSExchangeFailure.unreachable("socket closed"))
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
