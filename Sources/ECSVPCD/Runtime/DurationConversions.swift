import ECSVPCCore
import NIOCore

extension TimeAmount {
    /// A `Duration` as NIO's time amount (nanoseconds).
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

extension Duration {
    /// As a poll(2) timeout: whole milliseconds, one more than the duration holds, so a wait never ends early.
    var pollTimeout: Int32 {
        let (seconds, attoseconds) = components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }
}

extension HostPort {
    /// The server's socket address, for NIO and connect(2).
    func socketAddress() throws -> SocketAddress {
        try address.socketAddress(port: port)
    }
}

extension IPAddress {
    func socketAddress(port: Int) throws -> SocketAddress {
        try SocketAddress(ipAddress: description, port: port)
    }
}
