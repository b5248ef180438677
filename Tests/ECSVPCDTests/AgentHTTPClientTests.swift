import ECSVPCCore
import ECSVPCD
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// A loopback server that reads one request and answers with whatever `respond` returns (nil: stays silent).
final class CannedHTTPServer: Sendable {
    let channel: any Channel

    init(unixPath: String? = nil, respond: @escaping @Sendable (String) -> [UInt8]?) async throws {
        let box = RequestLog()
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CannedHandler(respond: respond, log: box))
                }
            }
        if let unixPath {
            channel = try await bootstrap.bind(unixDomainSocketPath: unixPath, cleanupExistingSocketFile: true).get()
        } else {
            channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        }
        log = box
    }

    private let log: RequestLog
    var received: [String] { log.items.withLock { $0 } }
    var port: Int { channel.localAddress?.port ?? 0 }

    func close() async { try? await channel.close() }
}

final class RequestLog: Sendable {
    let items = Mutex<[String]>([])
}

private final class CannedHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let respond: @Sendable (String) -> [UInt8]?
    let log: RequestLog
    var buffer: [UInt8] = []
    var answered = false

    init(respond: @escaping @Sendable (String) -> [UInt8]?, log: RequestLog) {
        self.respond = respond
        self.log = log
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffer += bytes.readBytes(length: bytes.readableBytes) ?? []
        let text = String(decoding: buffer, as: UTF8.self)
        guard !answered, let end = text.range(of: "\r\n\r\n") else { return }
        let headerText = text[..<end.lowerBound].lowercased()
        let length = headerText.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        guard text[end.upperBound...].utf8.count >= length else { return }
        answered = true
        log.items.withLock { $0.append(text) }
        if let reply = respond(text) {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: reply))).whenComplete { _ in
                channel.close(promise: nil)
            }
        }
    }
}

func httpReply(_ status: String, _ body: String, headers: [String] = []) -> [UInt8] {
    let lines = ["HTTP/1.1 \(status)", "Content-Length: \(body.utf8.count)", "Content-Type: application/json"] + headers
    return Array((lines.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8)
}

@Suite("Agent HTTP client")
struct AgentHTTPClientTests {
    @Test("parses http, tcp and unix URLs, and rejects the rest with the reason")
    func parsesTargets() throws {
        #expect(try HTTPTarget(url: "http://127.0.0.1:51678") == .tcp(host: "127.0.0.1", port: 51678))
        #expect(try HTTPTarget(url: "http://169.254.169.254") == .tcp(host: "169.254.169.254", port: 80))
        #expect(try HTTPTarget(url: "http://169.254.169.254/") == .tcp(host: "169.254.169.254", port: 80))
        #expect(try HTTPTarget(url: "http://[fd00:ec2::254]:80") == .tcp(host: "fd00:ec2::254", port: 80))
        #expect(try HTTPTarget(url: "http://[::1]") == .tcp(host: "::1", port: 80))
        #expect(try HTTPTarget(url: "tcp://127.0.0.1:2375") == .tcp(host: "127.0.0.1", port: 2375))
        #expect(try HTTPTarget(url: "unix:///var/run/docker.sock") == .unix(path: "/var/run/docker.sock"))
        #expect(HTTPTarget.tcp(host: "::1", port: 80).description == "http://[::1]:80")
        for bad in ["https://x", "http://", "http://h:0", "http://h:99999", "http://h:x", "http://::1", "http://h/p",
            "unix://", "unix://relative", "ftp://h"]
        {
            #expect(throws: HTTPError.self, "\(bad)") { try HTTPTarget(url: bad) }
        }
    }

    @Test(
        "accepts exactly the http:// and unix:// URLs the configuration accepts",
        arguments: [
            "http://127.0.0.1:8080", "http://[::1]:80", "http://169.254.169.254/", "http://localhost", "unix:///var/run/docker.sock",
            "http://h/p", "http://h?q", "http://u@h", "http://h:0", "http://h:65536", "http://h:+80", "http://::1",
            "http://[::1", "http://[10.0.0.1]", "http://a b", "unix:///", "unix://relative", "http://",
        ]
    )
    func agreesWithConfiguration(url: String) {
        let key = url.hasPrefix("unix:") ? "ECSVPCD_DOCKER_HOST" : "ECSVPCD_AGENT_INTROSPECTION"
        let configured = (try? SettingsParser.parse(file: ("/c", "\(key)=\(url)\n"), environment: [:])) != nil
        let usable = (try? HTTPTarget(url: url)) != nil
        #expect(configured == usable)
    }

    @Test("sends Host and Connection: close and reads status, headers and body")
    func roundTrip() async throws {
        let server = try await CannedHTTPServer { _ in httpReply("200 OK", #"{"ok":true}"#, headers: ["X-Thing: 7"]) }
        defer { Task { await server.close() } }
        let response = try await HTTPClient().send(
            "PUT", .tcp(host: "127.0.0.1", port: server.port), path: "/latest/api/token",
            headers: [("X-aws-ec2-metadata-token-ttl-seconds", "60")], body: Array("hi".utf8), timeout: .seconds(5)
        )
        #expect(response.status == 200)
        #expect(response.bodyText == #"{"ok":true}"#)
        #expect(response.header("x-thing") == "7")
        let request = try #require(server.received.first)
        #expect(request.hasPrefix("PUT /latest/api/token HTTP/1.1\r\n"))
        #expect(request.lowercased().contains("host: 127.0.0.1:\(server.port)\r\n"))
        #expect(request.lowercased().contains("connection: close\r\n"))
        #expect(request.lowercased().contains("x-aws-ec2-metadata-token-ttl-seconds: 60\r\n"))
        #expect(request.hasSuffix("\r\n\r\nhi"))
    }

    @Test("talks over a unix socket with Host: docker")
    func unixSocket() async throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("s.sock")
        let server = try await CannedHTTPServer(unixPath: path) { _ in httpReply("204 No Content", "") }
        defer { Task { await server.close() } }
        let response = try await HTTPClient().send("POST", .unix(path: path), path: "/v1.43/containers/x/start", timeout: .seconds(5))
        #expect(response.status == 204)
        #expect(response.body.isEmpty)
        let request = try #require(server.received.first)
        #expect(request.lowercased().contains("host: docker\r\n"))
        #expect(request.lowercased().contains("content-length: 0\r\n"))
    }

    @Test("reads a body that ends when the server closes")
    func bodyUntilClose() async throws {
        let server = try await CannedHTTPServer { _ in Array("HTTP/1.1 200 OK\r\n\r\nuntil close".utf8) }
        defer { Task { await server.close() } }
        let response = try await HTTPClient().send("GET", .tcp(host: "127.0.0.1", port: server.port), path: "/", timeout: .seconds(5))
        #expect(response.bodyText == "until close")
    }

    @Test("times out on a server that never answers, naming the target")
    func timeout() async throws {
        let server = try await CannedHTTPServer { _ in nil }
        defer { Task { await server.close() } }
        let started = ContinuousClock.now
        let error = await #expect(throws: HTTPError.self) {
            try await HTTPClient().send("GET", .tcp(host: "127.0.0.1", port: server.port), path: "/", timeout: .milliseconds(300))
        }
        #expect(error?.code == .timeout)
        #expect(error?.description.contains("http://127.0.0.1:\(server.port)") == true)
        #expect(ContinuousClock.now - started < .seconds(3))
    }

    @Test("refuses a body over the limit, by Content-Length and by streaming")
    func tooLarge() async throws {
        let big = String(repeating: "x", count: 5000)
        let server = try await CannedHTTPServer { _ in httpReply("200 OK", big) }
        let streaming = try await CannedHTTPServer { _ in Array(("HTTP/1.1 200 OK\r\n\r\n" + big).utf8) }
        defer { Task { await server.close(); await streaming.close() } }
        let client = HTTPClient(maxBodyBytes: 1000)
        for port in [server.port, streaming.port] {
            let error = await #expect(throws: HTTPError.self) {
                try await client.send("GET", .tcp(host: "127.0.0.1", port: port), path: "/", timeout: .seconds(5))
            }
            #expect(error?.code == .tooLarge)
        }
    }

    @Test("reports garbage as malformed and a refused port as connect")
    func malformedAndRefused() async throws {
        let server = try await CannedHTTPServer { _ in Array("SSH-2.0-OpenSSH\r\n\r\n".utf8) }
        let port = server.port
        let error = await #expect(throws: HTTPError.self) {
            try await HTTPClient().send("GET", .tcp(host: "127.0.0.1", port: port), path: "/", timeout: .seconds(5))
        }
        #expect(error?.code == .malformed)
        await server.close()
        let refused = await #expect(throws: HTTPError.self) {
            try await HTTPClient().send("GET", .tcp(host: "127.0.0.1", port: port), path: "/", timeout: .seconds(5))
        }
        #expect(refused?.code == .connect)
        let missing = await #expect(throws: HTTPError.self) {
            try await HTTPClient().send("GET", .unix(path: "/nonexistent/docker.sock"), path: "/", timeout: .seconds(5))
        }
        #expect(missing?.code == .connect)
        #expect(missing?.description.contains("unix:///nonexistent/docker.sock") == true)
    }
}
