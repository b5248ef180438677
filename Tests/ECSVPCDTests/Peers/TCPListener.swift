import ECSVPCCore
import NIOCore
import NIOPosix
import Synchronization

/// A loopback TCP listener that accepts connections and holds them open until `close()`: the "open" case of
/// the probe, and the far end of the stand-in agent's connection.
final class TCPListener: Sendable {
    let address: IPAddress
    let port: Int
    private let channel: any Channel

    /// Listens on `address:port` (port 0: any free port, then read `port`).
    init(address: IPAddress, port: Int) throws {
        precondition(CIDR("127.0.0.0/8")!.contains(address), "tests listen on loopback only")
        let box = AcceptedChannels()
        channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                box.add(child)
                return child.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: address.description, port: port)
            .wait()
        self.address = address
        self.port = channel.localAddress?.port ?? port
        self.box = box
    }

    private let box: AcceptedChannels

    /// How many connections are open now.
    var openConnections: Int { box.channels.withLock { $0.filter(\.isActive).count } }

    /// Stops listening and closes every accepted connection.
    func close() {
        try? channel.close().wait()
        for child in box.channels.withLock({ $0 }) { try? child.close().wait() }
    }

    deinit { close() }
}

private final class AcceptedChannels: Sendable {
    let channels = Mutex<[any Channel]>([])
    func add(_ channel: any Channel) { channels.withLock { $0.append(channel) } }
}
