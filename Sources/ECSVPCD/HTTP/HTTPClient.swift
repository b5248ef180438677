import ECSVPCCore
import NIOCore
import NIOHTTP1
import NIOPosix

/// Where an HTTP server listens: a TCP host and port, or a unix socket (the Docker Engine).
public enum HTTPTarget: Sendable, Hashable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)

    /// Parses `http://host[:port]` (default port 80; IPv6 as `[::1]:80`; `tcp://` too, as in `DOCKER_HOST`)
    /// and `unix:///path`, by `ServerURL`'s grammar: the one the configuration is checked with.
    public init(url: String) throws(HTTPError) {
        do throws(ServerURL.Problem) {
            switch try ServerURL(parsing: url) {
            case .tcp(let host, let port): self = .tcp(host: host, port: port)
            case .unix(let path): self = .unix(path: path)
            }
        } catch {
            throw HTTPError(.malformed, target: url, detail: "not a usable URL: \(error.reason)")
        }
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port):
            return host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
        case .unix(let path):
            return "unix://\(path)"
        }
    }

    /// The `Host` header value. Go's server (Docker) rejects requests without one; for a socket any name does.
    var hostHeader: String {
        switch self {
        case .tcp(let host, let port):
            let name = host.contains(":") ? "[\(host)]" : host
            return port == 80 ? name : "\(name):\(port)"
        case .unix:
            return "docker"
        }
    }
}

/// A whole response: status, headers in order, and the body (bounded by the client's `maxBodyBytes`).
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header of that name, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.0.lowercased() == wanted }?.1
    }

    /// The body as UTF-8 text (invalid sequences repaired).
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// Why a request failed, naming the target so logs say which peer misbehaved.
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure; a struct so codes can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The connection could not be made (refused, no such socket, no permission, name not found).
        public static let connect = Code("connect")
        /// The whole request did not finish before its deadline.
        public static let timeout = Code("timeout")
        /// The URL or the reply was not valid HTTP.
        public static let malformed = Code("malformed")
        /// The reply body was larger than allowed.
        public static let tooLarge = Code("too large")
        /// The peer closed the connection before the reply was complete.
        public static let closed = Code("closed")

        public var description: String { name }
    }

    public var code: Code
    public var target: String
    public var detail: String

    public init(_ code: Code, target: String, detail: String) {
        self.code = code
        self.target = target
        self.detail = detail
    }

    public var description: String { "\(target): \(code): \(detail)" }
}

/// A small HTTP/1.1 client: one connection per request, a deadline on the whole exchange, a bounded body.
///
/// Enough for the Docker Engine (unix socket), the agent's introspection API and instance metadata; not a
/// general client (no TLS, no redirects, no keep-alive).
public struct HTTPClient: Sendable {
    public let eventLoopGroup: any EventLoopGroup
    public let maxBodyBytes: Int

    public init(eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, maxBodyBytes: Int = 1 << 20) {
        self.eventLoopGroup = eventLoopGroup
        self.maxBodyBytes = maxBodyBytes
    }

    public func send(
        _ method: String,
        _ target: HTTPTarget,
        path: String,
        headers: [(String, String)] = [],
        body: [UInt8] = [],
        timeout: Duration
    ) async throws(HTTPError) -> HTTPResponse {
        let name = target.description
        // No socket file: the server (the Docker Engine) is not running. Said at once, without a channel.
        if case .unix(let path) = target, access(path, F_OK) != 0 {
            throw HTTPError(.connect, target: name, detail: "cannot connect: no socket at \(path) (\(String(cString: strerror(errno))))")
        }
        let eventLoop = eventLoopGroup.next()
        let promise = eventLoop.makePromise(of: HTTPResponse.self)
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        let timer = eventLoop.scheduleTask(deadline: deadline) {
            promise.fail(HTTPError(.timeout, target: name, detail: "\(method) \(path): no complete reply within \(timeout)"))
        }
        promise.futureResult.whenComplete { _ in timer.cancel() }

        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path)
        for (key, value) in headers { head.headers.add(name: key, value: value) }
        if !head.headers.contains(name: "Host") { head.headers.add(name: "Host", value: target.hostHeader) }
        head.headers.replaceOrAdd(name: "Connection", value: "close")
        if !body.isEmpty || !["GET", "HEAD"].contains(method) {
            head.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        }
        let request = head
        let limit = maxBodyBytes

        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(timeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(
                        ResponseCollector(request: request, body: body, limit: limit, target: name, promise: promise)
                    )
                }
            }
        let connected: EventLoopFuture<any Channel>
        switch target {
        case .tcp(let host, let port):
            // An address (the usual case: instance metadata, introspection) is connected to directly; a name goes
            // through NIO's resolver and Happy Eyeballs, which cost a resolver round and several allocations.
            if let address = try? SocketAddress(ipAddress: host, port: port) {
                connected = bootstrap.connect(to: address)
            } else {
                connected = bootstrap.connect(host: host, port: port)
            }
        case .unix(let path):
            connected = bootstrap.connect(unixDomainSocketPath: path)
        }
        connected.whenComplete { result in
            switch result {
            case .success(let channel):
                // Whatever ends the exchange (reply, deadline, error) also ends the connection.
                promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
            case .failure(let error):
                promise.fail(HTTPError(.connect, target: name, detail: "cannot connect: \(error)"))
            }
        }
        do {
            return try await promise.futureResult.get()
        } catch let error as HTTPError {
            throw error
        } catch {
            throw HTTPError(.connect, target: name, detail: "\(error)")
        }
    }
}

/// Writes the request once connected and gathers the reply into the promise.
private final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let request: HTTPRequestHead
    private let requestBody: [UInt8]
    private let limit: Int
    private let target: String
    private let promise: EventLoopPromise<HTTPResponse>
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []
    private var done = false

    init(request: HTTPRequestHead, body: [UInt8], limit: Int, target: String, promise: EventLoopPromise<HTTPResponse>) {
        self.request = request
        self.requestBody = body
        self.limit = limit
        self.target = target
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(request)), promise: nil)
        if !requestBody.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: requestBody)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        switch unwrapInboundIn(data) {
        case .head(let responseHead):
            head = responseHead
            if let length = responseHead.headers.first(name: "Content-Length").flatMap(Int.init), length > limit {
                fail(context, .tooLarge, "reply body of \(length) bytes is over the limit of \(limit)")
            }
        case .body(var buffer):
            guard body.count + buffer.readableBytes <= limit else {
                fail(context, .tooLarge, "reply body is over the limit of \(limit) bytes")
                return
            }
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            guard let head else {
                fail(context, .malformed, "reply ended before its status line")
                return
            }
            done = true
            let headers = head.headers.map { ($0.name, $0.value) }
            promise.succeed(HTTPResponse(status: Int(head.status.code), headers: headers, body: body))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            fail(context, .closed, head == nil ? "connection closed before any reply" : "connection closed mid-reply")
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError {
            fail(context, .malformed, "reply is not valid HTTP/1.1 (\(error))")
        } else {
            fail(context, .closed, "connection failed: \(error)")
        }
    }

    private func fail(_ context: ChannelHandlerContext, _ code: HTTPError.Code, _ detail: String) {
        guard !done else { return }
        done = true
        promise.fail(HTTPError(code, target: target, detail: detail))
        context.close(promise: nil)
    }
}
