import ECSVPCCore
import ECSVPCD
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A scripted UDP nameserver on loopback, for the edges dnsmasq cannot be made to show on demand:
/// SERVFAIL, silence, datagrams that answer someone else, unreadable answers.
///
/// `respond` gets each query and returns the datagrams to send back, in order (none: stay silent).
final class DNSFakeServer: Sendable {
    let channel: any Channel
    let server: DNSServer

    /// `port` 0 takes any free one; a resolv.conf `nameserver` needs 53 (so root).
    init(
        host: IPAddress = Loopback.dnsServer(), port: Int = 0, respond: @escaping @Sendable (DNSMessage) -> [[UInt8]]
    ) async throws {
        let shared = FakeQueryLog()
        channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(FakeDNSHandler(respond: respond, log: shared))
                }
            }
            .bind(host: host.description, port: port)
            .get()
        server = DNSServer(address: host, port: channel.localAddress?.port ?? 0)
        queryLog = shared
    }

    private let queryLog: FakeQueryLog

    /// Every query received so far.
    var queries: [DNSMessage] { queryLog.log.withLock { $0 } }
    /// The source port of each query, in the same order.
    var sourcePorts: [Int] { queryLog.ports.withLock { $0 } }

    func close() { channel.close(promise: nil) }

    /// An answer to `query` with `rcode` and these A/AAAA records for the question's name.
    static func answer(_ query: DNSMessage, rcode: DNSResponseCode = .noError, addresses: [IPAddress] = [], ttl: UInt32 = 30)
        -> [UInt8]
    {
        guard let question = query.questions.first else { return [] }
        let records = addresses.filter { $0.isIPv6 == (question.type == .aaaa) }.map {
            DNSRecord(name: question.name, type: question.type, ttl: ttl, data: .address($0))
        }
        let message = DNSMessage(
            id: query.id, isResponse: true, recursionAvailable: true, responseCode: rcode,
            questions: query.questions, answers: records)
        return (try? message.encode()) ?? []
    }
}

private final class FakeQueryLog: Sendable {
    let log = Mutex<[DNSMessage]>([])
    let ports = Mutex<[Int]>([])
}

private final class FakeDNSHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let respond: @Sendable (DNSMessage) -> [[UInt8]]
    let log: FakeQueryLog

    init(respond: @escaping @Sendable (DNSMessage) -> [[UInt8]], log: FakeQueryLog) {
        self.respond = respond
        self.log = log
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard let query = try? DNSMessage(decoding: Array(envelope.data.readableBytesView)) else { return }
        log.log.withLock { $0.append(query) }
        log.ports.withLock { $0.append(envelope.remoteAddress.port ?? 0) }
        for datagram in respond(query) {
            context.write(
                wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: datagram))),
                promise: nil)
        }
        context.flush()
    }
}
