#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What the daemon tells its service manager: readiness, a one-line status, reloads, shutdown and
/// watchdog pings. A protocol so the daemon loop can be tested with a recording fake.
public protocol ServiceNotifying: Sendable {
    /// The daemon finished starting up; `status` is the first status line.
    func ready(status: String)
    /// A new one-line status, shown by `systemctl status`.
    func status(_ line: String)
    /// A configuration reload (SIGHUP) started; send `ready(status:)` when it is done.
    func reloading()
    /// Shutdown started.
    func stopping()
    /// Keep-alive ping for `WatchdogSec=`.
    func watchdog()
    /// How often to call `watchdog()`, or nil when the service manager does not expect pings.
    var watchdogInterval: Duration? { get }
}

/// Talks the sd_notify(3) protocol to systemd.
///
/// It reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from the environment it is given, which
/// is the process environment in production, so tests can point it at their own socket without changing
/// process-global state. The datagram it sends is what libsystemd's `sd_notify()` sends (the protocol is
/// a documented, stable interface); without `NOTIFY_SOCKET` every call does nothing.
public struct SystemdNotifier: ServiceNotifying {
    /// Where notifications go, or nil when not run by a service manager.
    public let socketPath: String?
    public let watchdogInterval: Duration?

    public init(environment: [String: String] = processEnvironment()) {
        let socket = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        socketPath = socket
        watchdogInterval =
            socket == nil
            ? nil
            : Self.watchdogInterval(
                usec: environment["WATCHDOG_USEC"],
                pid: environment["WATCHDOG_PID"],
                ownPID: getpid()
            )
    }

    public func ready(status: String) {
        send(["READY=1", "STATUS=\(Self.singleLine(status))"])
    }

    public func status(_ line: String) {
        send(["STATUS=\(Self.singleLine(line))"])
    }

    public func reloading() {
        send(["RELOADING=1", "MONOTONIC_USEC=\(Self.monotonicMicroseconds())"])
    }

    public func stopping() {
        send(["STOPPING=1"])
    }

    public func watchdog() {
        send(["WATCHDOG=1"])
    }

    /// Half of `WATCHDOG_USEC`, as sd_watchdog_enabled(3) recommends, when the watchdog is on for this process.
    static func watchdogInterval(usec: String?, pid: String?, ownPID: pid_t) -> Duration? {
        guard let usec, let microseconds = UInt64(usec), microseconds > 0 else { return nil }
        if let pid {
            guard let watchdogPID = pid_t(pid), watchdogPID == ownPID else { return nil }
        }
        return .microseconds(Int64(clamping: microseconds / 2))
    }

    /// Status lines are one line: newlines and other control characters become spaces.
    static func singleLine(_ text: String) -> String {
        var line = ""
        line.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            line.unicodeScalars.append(scalar.properties.generalCategory == .control ? " " : scalar)
        }
        return line.trimmingSpaces()
    }

    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }

    private func send(_ assignments: [String]) {
        guard let socketPath else { return }
        _ = NotifySocket.send(assignments.joined(separator: "\n") + "\n", to: socketPath)
    }
}

/// The datagram side of sd_notify: a path, or an abstract socket name written with a leading `@`.
enum NotifySocket {
    /// Sends one datagram; returns errno on failure. Like `sd_notify()`, a fresh socket per message.
    static func send(_ message: String, to path: String) -> Int32? {
        guard path.hasPrefix("/") || path.hasPrefix("@") else { return EAFNOSUPPORT }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return ENAMETOOLONG }
        withUnsafeMutableBytes(of: &address.sun_path) { sunPath in
            sunPath.copyBytes(from: bytes)
        }
        // An abstract name is exactly as long as given; a path carries its terminating NUL.
        let length = MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1)

        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        let sent = message.utf8CString.withUnsafeBufferPointer { text in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, text.baseAddress, text.count - 1, Int32(MSG_NOSIGNAL), $0, socklen_t(length))
                }
            }
        }
        return sent < 0 ? errno : nil
    }
}

/// The process environment as a dictionary, read without Foundation.
@usableFromInline
func processEnvironment() -> [String: String] {
    var result: [String: String] = [:]
    // clearenv(3) leaves environ NULL, whatever the imported type says.
    var entry: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
    while let current = entry, let pointer = current.pointee {
        let assignment = String(cString: pointer)
        if let equals = assignment.firstIndex(of: "=") {
            result[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
        }
        entry = current + 1
    }
    return result
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " }),
            let last = scalars.lastIndex(where: { $0 != " " })
        else { return "" }
        return String(scalars[first...last])
    }
}
