import ECSVPCCore
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Probes addresses with a plain TCP connect on SwiftNIO, all at once, closing each connection as soon as it opens.
public struct TCPProbe: TCPProbing {
    let eventLoopGroup: any EventLoopGroup

    public init(eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.eventLoopGroup = eventLoopGroup
    }

    public func probe(_ addresses: [IPAddress], port: Int, timeout: Duration) async -> [IPAddress: ProbeOutcome] {
        await withTaskGroup(of: (IPAddress, ProbeOutcome).self) { group in
            for address in Set(addresses) {
                group.addTask { (address, await probe(address, port: port, timeout: timeout)) }
            }
            var results: [IPAddress: ProbeOutcome] = [:]
            for await (address, outcome) in group { results[address] = outcome }
            return results
        }
    }

    func probe(_ address: IPAddress, port: Int, timeout: Duration) async -> ProbeOutcome {
        let socketAddress: SocketAddress
        do {
            socketAddress = try SocketAddress(ipAddress: address.description, port: port)
        } catch {
            return .unreachable("not a socket address: \(address)")
        }
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let channel = try await ClientBootstrap(group: eventLoopGroup)
                .connectTimeout(TimeAmount(timeout))
                .connect(to: socketAddress)
                .get()
            let elapsed = clock.now - start
            try? await channel.close()
            let (seconds, attoseconds) = elapsed.components
            return .open(milliseconds: Double(seconds) * 1000 + Double(attoseconds) / 1e15)
        } catch {
            return Self.outcome(of: error)
        }
    }

    static func outcome(of error: any Error) -> ProbeOutcome {
        if let channelError = error as? ChannelError, case .connectTimeout = channelError { return .timeout }
        if let ioError = error as? IOError { return outcome(errno: ioError.errnoCode) }
        if let connectionError = error as? NIOConnectionError {
            if let first = connectionError.connectionErrors.first { return outcome(of: first.error) }
            return .unreachable("\(connectionError)")
        }
        return .unreachable("\(error)")
    }

    static func outcome(errno code: Int32) -> ProbeOutcome {
        switch code {
        case ECONNREFUSED: .refused
        case ETIMEDOUT: .timeout
        default: .unreachable(String(cString: strerror(code)))
        }
    }
}
