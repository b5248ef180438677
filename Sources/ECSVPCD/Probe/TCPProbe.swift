import ECSVPCCore
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Probes addresses with plain non-blocking TCP connects, all at once, waiting for all of them in one poll(2) on
/// NIO's blocking thread pool, and closing each connection as soon as it opens.
///
/// A probe is a connect and a close that never carry a byte: as NIO channels (pipeline, promises, registration)
/// they cost about twice the system calls themselves, on every address of every cycle.
public struct TCPProbe: TCPProbing {
    public init() {}

    public func probe(_ addresses: [IPAddress], port: Int, timeout: Duration) async -> [IPAddress: ProbeOutcome] {
        let targets = Array(Set(addresses))
        guard !targets.isEmpty else { return [:] }
        do {
            return try await NIOThreadPool.singleton.runIfActive { Self.connectAll(targets, port: port, timeout: timeout) }
        } catch {
            return Dictionary(uniqueKeysWithValues: targets.map { ($0, .unreachable("cannot run the probe: \(error)")) })
        }
    }

    /// Blocks for up to `timeout`.
    static func connectAll(_ targets: [IPAddress], port: Int, timeout: Duration) -> [IPAddress: ProbeOutcome] {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + timeout
        var results: [IPAddress: ProbeOutcome] = [:]
        var pending: [(address: IPAddress, fd: Int32)] = []
        for address in targets {
            switch startConnect(address, port: port) {
            case .success(let fd): pending.append((address, fd))
            case .failure(let failure): results[address] = failure.outcome
            }
        }
        while !pending.isEmpty {
            let remaining = deadline - clock.now
            guard remaining > .zero else { break }
            var fds = pending.map { pollfd(fd: $0.fd, events: Int16(POLLOUT), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), remaining.pollTimeout)
            if ready < 0 {
                if errno == EINTR { continue }
                let why = String(cString: strerror(errno))
                for (address, _) in pending { results[address] = .unreachable("poll: \(why)") }
                break
            }
            let elapsed = milliseconds(clock.now - start)
            var still: [(address: IPAddress, fd: Int32)] = []
            for (index, entry) in pending.enumerated() {
                guard fds[index].revents != 0 else {
                    still.append(entry)
                    continue
                }
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                if getsockopt(entry.fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 { error = errno }
                results[entry.address] = error == 0 ? .open(milliseconds: elapsed) : outcome(errno: error)
                close(entry.fd)
            }
            pending = still
        }
        for (address, fd) in pending {
            results[address] = .timeout
            close(fd)
        }
        return results
    }

    /// A socket whose connect is under way, or the outcome when it ended (or failed) at once.
    private static func startConnect(_ address: IPAddress, port: Int) -> Result<Int32, ProbeFailure> {
        let socketAddress: SocketAddress
        do {
            socketAddress = try address.socketAddress(port: port)
        } catch {
            return .failure(ProbeFailure(.unreachable("not a socket address: \(address)")))
        }
        let fd = socket(address.isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(ProbeFailure(.unreachable("socket: \(String(cString: strerror(errno)))"))) }
        let result = socketAddress.withSockAddr { pointer, size in connect(fd, pointer, socklen_t(size)) }
        if result == 0 || errno == EINPROGRESS { return .success(fd) }
        let code = errno
        close(fd)
        return .failure(ProbeFailure(outcome(errno: code)))
    }

    private struct ProbeFailure: Error {
        var outcome: ProbeOutcome
        init(_ outcome: ProbeOutcome) { self.outcome = outcome }
    }

    private static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }

    static func outcome(errno code: Int32) -> ProbeOutcome {
        switch code {
        case ECONNREFUSED: .refused
        case ETIMEDOUT: .timeout
        default: .unreachable(String(cString: strerror(code)))
        }
    }
}
