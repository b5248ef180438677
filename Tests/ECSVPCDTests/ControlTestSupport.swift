import ECSVPCCore
@testable import ECSVPCD
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization

/// A daemon stand-in behind the control socket: a fixed status document, and actions that record their calls.
final class FakeControlHandler: ControlHandling {
    let document: StatusDocument
    private let calls = Mutex<[String]>([])

    init(document: StatusDocument = ControlFixture.document) {
        self.document = document
    }

    var recorded: [String] { calls.withLock { $0 } }

    func status() async -> StatusDocument { document }

    func reprobe() async -> Result<String, ControlFailure> {
        calls.withLock { $0.append("reprobe") }
        return .success("reprobe scheduled")
    }

    func restartAgent(reason: String) async -> Result<String, ControlFailure> {
        calls.withLock { $0.append("restart-agent: \(reason)") }
        if reason == "fail please" { return .failure(ControlFailure(message: "the restart budget is spent; wait until 12:00")) }
        return .success("agent restart requested: \(reason)")
    }
}

enum ControlFixture {
    /// Whole seconds, because ISO 8601 on the wire drops fractions.
    static let updatedAt = Date(timeIntervalSince1970: 1_750_000_000)

    static let document = StatusDocument(
        source: "daemon",
        health: .warning,
        summary: "agent still on public endpoints; restart in 9m",
        instance: .init(
            id: "i-0123456789abcdef0", region: "us-east-1", dnsSuffix: "amazonaws.com",
            vpcCIDRs: [CIDR("127.16.0.0/16")!], endpointCIDRs: [CIDR("127.17.0.0/16")!]
        ),
        endpoints: [],
        configuration: .vpcEndpoints,
        agent: .init(
            running: true, started: updatedAt.addingTimeInterval(-3600), version: "Amazon ECS Agent - v1.86.0 (abc)",
            cluster: "test", connections: "public", connectionsDetail: nil, remoteAddresses: [],
            supervisor: "docker", supervisorDetail: nil, proxy: nil
        ),
        restart: .init(state: "pending", reason: "endpoints in place", notBefore: updatedAt.addingTimeInterval(540), budgetLeft: 3, history: []),
        findings: [],
        updatedAt: updatedAt
    )
}

/// A captured log record, for asserting on what the server logged.
struct CapturedLog: Sendable {
    var level: Logger.Level
    var message: String
}

/// Keeps every record in memory.
struct CapturingLogHandler: LogHandler {
    let sink: LogSink
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    final class LogSink: Sendable {
        let records = Mutex<[CapturedLog]>([])
        var all: [CapturedLog] { records.withLock { $0 } }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        sink.records.withLock { $0.append(CapturedLog(level: event.level, message: event.message.description)) }
    }
}

/// Runs `body` with a control server on a fresh socket path (in a fresh directory whose `run/` the server
/// creates), then cancels the server and checks that it removed its socket.
func withControlServer<T>(
    group: String = "root",
    limits: ControlServer.Limits = .init(),
    handler: FakeControlHandler = FakeControlHandler(),
    logger: Logger = Logger(label: "ecsvpcd.test.control"),
    _ body: (_ path: String) async throws -> T
) async throws -> T {
    try await withControlServer(group: group, limits: limits, handler: handler, logger: logger) { path, _ in
        try await body(path)
    }
}

/// As above, with the server itself, for tests that wait on its state (`openConnectionCount`).
func withControlServer<T>(
    group: String = "root",
    limits: ControlServer.Limits = .init(),
    handler: FakeControlHandler = FakeControlHandler(),
    logger: Logger = Logger(label: "ecsvpcd.test.control"),
    _ body: (_ path: String, _ server: ControlServer) async throws -> T
) async throws -> T {
    let directory = try TemporaryDirectory()
    let path = directory.file("run/control.sock")
    let server = ControlServer(path: path, statusGroup: group, handler: handler, logger: logger, limits: limits)
    let task = Task { try await server.run() }
    let result: T
    do {
        try await waitForSocket(path, while: task)
        result = try await body(path, server)
    } catch {
        task.cancel()
        _ = try? await task.value
        throw error
    }
    task.cancel()
    try await task.value
    guard !FileManager.default.fileExists(atPath: path) else { throw ControlTestError("the server left its socket at \(path)") }
    return result
}

/// Waits until something accepts connections on `path`, or the server task ends (then its error).
func waitForSocket(_ path: String, while task: Task<Void, any Error>) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline {
        if ControlSocketFile.accepts(path) { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    task.cancel()
    try await task.value
    throw ControlTestError("no control socket at \(path) within 10 s")
}

struct ControlTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A raw client connection for sending what a well-behaved client would not: blocking POSIX, test only.
final class RawControlConnection: Sendable {
    let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0, let address = UnixSocketAddress(path: path) else { throw ControlTestError("socket: \(errno)") }
        guard address.dial(fd) == 0 else {
            let code = errno
            close(fd)
            throw ControlTestError("connect \(path): \(String(cString: strerror(code)))")
        }
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return }
            offset += count
        }
    }

    func shutdownSending() { shutdown(fd, Int32(SHUT_WR)) }

    /// Whether the server has closed its side (readable with nothing to read), without blocking.
    var isClosedByPeer: Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 0) == 1 else { return false }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT)) == 0
    }

    /// Everything until the server closes, or what came before `timeout` (read on a thread of its own).
    func readToEnd(timeout: Duration = .seconds(5)) async -> String {
        await onOwnThread { () -> String in self.blockingRead(timeout: timeout) }.get()
    }

    /// The reply line parsed.
    func reply(timeout: Duration = .seconds(5)) async throws -> ControlReply {
        let text = await readToEnd(timeout: timeout)
        guard text.hasSuffix("\n"), text.filter({ $0 == "\n" }).count == 1 else {
            throw ControlTestError("expected one reply line, got \(text.debugDescription)")
        }
        return try ControlReply.parse(Data(text.utf8))
    }

    private func blockingRead(timeout: Duration) -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 50) >= 0 else { break }
            if descriptor.revents == 0 { continue }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    deinit { close(fd) }
}

extension ControlReply {
    var failureCode: ControlReply.Code? {
        if case .failure(let failure) = self { return failure.code }
        return nil
    }
}
