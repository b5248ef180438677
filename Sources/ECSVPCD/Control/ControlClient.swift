import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Asks the daemon over its control socket: one request, one reply.
///
/// Plain blocking POSIX calls with a poll(2) deadline on a thread of their own rather than an event loop:
/// `ecsvpcd status` starts, asks once and exits, and this keeps that at a few milliseconds.
public struct ControlClient: Sendable {
    public let path: String
    /// The largest reply accepted (a status document is a few KB).
    public var maxReplyBytes = 8 << 20

    public init(path: String) {
        self.path = path
    }

    public func send(_ request: ControlRequest, timeout: Duration) async throws(ControlClientError) -> ControlReply {
        // On a thread of its own: the exchange blocks for up to `timeout`, which must not hold up a thread of the
        // shared concurrency pool (on a 2-core host that pool has two).
        try await onOwnThread { () throws(ControlClientError) -> ControlReply in try exchange(request, timeout: timeout) }.get()
    }

    private func exchange(_ request: ControlRequest, timeout: Duration) throws(ControlClientError) -> ControlReply {
        let deadline = ContinuousClock.now + timeout
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw error(.io, "socket: \(Self.errorText(errno))") }
        defer { close(fd) }
        guard let address = UnixSocketAddress(path: path) else {
            throw error(.io, "not a usable unix socket path")
        }
        // A blocking connect waits while the daemon's backlog is full; SO_SNDTIMEO bounds that (and writes).
        var limit = Self.socketTimeout(timeout)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))

        if address.dial(fd) != 0 {
            let code = errno
            switch code {
            case ENOENT, ECONNREFUSED, ENOTDIR:
                throw error(.notRunning, "no daemon is listening (\(Self.errorText(code)))")
            case EACCES, EPERM:
                throw error(.notAllowed, "permission denied")
            case EAGAIN, EINPROGRESS, ETIMEDOUT:
                throw error(.timeout, "the daemon did not accept the connection within \(timeout)")
            default:
                throw error(.io, "connect: \(Self.errorText(code))")
            }
        }

        let line = [UInt8](request.line())
        var written = 0
        while written < line.count {
            let count = line[written...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { throw error(.timeout, "the daemon did not take the request within \(timeout)") }
                throw error(.io, "sending the request: \(Self.errorText(errno))")
            }
            written += count
        }

        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { throw error(.timeout, "no reply within \(timeout)") }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, remaining.pollTimeout)
            if ready < 0 {
                if errno == EINTR { continue }
                throw error(.io, "poll: \(Self.errorText(errno))")
            }
            if ready == 0 { throw error(.timeout, "no reply within \(timeout)") }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw error(.io, "reading the reply: \(Self.errorText(errno))")
            }
            if count == 0 { break }
            reply += chunk[..<count]
            if chunk[count - 1] == UInt8(ascii: "\n") { break }
            guard reply.count <= maxReplyBytes else { throw error(.badReply, "the reply exceeds \(maxReplyBytes) bytes") }
        }
        guard !reply.isEmpty else { throw error(.badReply, "the daemon closed the connection without a reply") }
        do {
            return try ControlReply.parse(Data(reply))
        } catch {
            let start = String(decoding: reply.prefix(120), as: UTF8.self)
            throw self.error(.badReply, "not a control reply: \(start)")
        }
    }

    private func error(_ code: ControlClientError.Code, _ detail: String) -> ControlClientError {
        ControlClientError(code, path: path, detail: detail)
    }

    private static func socketTimeout(_ duration: Duration) -> timeval {
        let (seconds, attoseconds) = duration.components
        return timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }

    private static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
}

/// Runs blocking work on a new thread and resumes with its result, so the concurrency pool stays free.
func onOwnThread<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async -> Result<T, E> {
    await withCheckedContinuation { continuation in
        let work = ThreadWork { continuation.resume(returning: Result(catching: body)) }
        let context = Unmanaged.passRetained(work).toOpaque()
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { context in
            guard let context else { return nil }
            Unmanaged<ThreadWork>.fromOpaque(context).takeRetainedValue().run()
            return nil
        }, context)
        if started == 0 {
            pthread_detach(thread)
        } else {
            // No thread to be had: do it here rather than not at all.
            Unmanaged<ThreadWork>.fromOpaque(context).takeRetainedValue().run()
        }
    }
}

/// The body a new thread runs, handed over as an unmanaged pointer.
private final class ThreadWork: @unchecked Sendable {
    let run: () -> Void

    init(_ run: @escaping () -> Void) { self.run = run }
}

/// Why the control socket gave no reply, naming the socket.
public struct ControlClientError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure; a struct so codes can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// No socket, or nothing listening on it: the daemon is not running.
        public static let notRunning = Code("not running")
        /// The socket refused us: neither root nor in the status group.
        public static let notAllowed = Code("not allowed")
        /// No connection or no reply in time.
        public static let timeout = Code("timeout")
        /// The daemon answered something that is not a control reply.
        public static let badReply = Code("bad reply")
        /// Any other socket error.
        public static let io = Code("i/o")

        public var description: String { name }
    }

    public var code: Code
    public var path: String
    public var detail: String

    public init(_ code: Code, path: String, detail: String) {
        self.code = code
        self.path = path
        self.detail = detail
    }

    public var description: String { "\(path): \(code): \(detail)" }
}
