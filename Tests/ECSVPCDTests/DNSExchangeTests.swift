import ECSVPCCore
import Foundation
import NIOPosix
import Testing

@testable import ECSVPCD

@Suite("DNS exchange: one socket per server for the queries in flight")
struct DNSExchangeTests {
    @Test("queries in flight to one server at once share one socket; the next round gets a new one")
    func sharedSocket() async throws {
        let silent = try await DNSFakeServer { _ in [] }
        defer { silent.close() }
        let exchange = DNSExchange(group: MultiThreadedEventLoopGroup.singleton)
        let name = try DNSName("ecs.test")
        async let a = exchange.udp(.query(id: 1, name: name, type: .a), to: silent.server, timeout: .milliseconds(500))
        async let aaaa = exchange.udp(.query(id: 2, name: name, type: .aaaa), to: silent.server, timeout: .milliseconds(500))
        let first = await [a, aaaa]
        for result in first {
            guard case .failure(.timeout) = result else {
                Issue.record("a silent server must time out, got \(result)")
                return
            }
        }
        _ = await exchange.udp(.query(id: 3, name: name, type: .a), to: silent.server, timeout: .milliseconds(100))
        let ports = silent.sourcePorts
        try #require(ports.count == 3)
        #expect(ports[0] == ports[1])
        #expect(ports[2] != ports[0])
    }

    @Test("two queries in flight with one ID each get their own answer")
    func clashingIDs() async throws {
        let fake = try await DNSFakeServer { query in
            let address = query.questions.first?.type == .aaaa ? IPAddress("::1") : IPAddress("127.16.0.9")
            return [DNSFakeServer.answer(query, addresses: address.map { [$0] } ?? [])]
        }
        defer { fake.close() }
        let exchange = DNSExchange(group: MultiThreadedEventLoopGroup.singleton)
        let name = try DNSName("ecs.test")
        async let a = exchange.udp(.query(id: 7, name: name, type: .a), to: fake.server, timeout: .seconds(2))
        async let aaaa = exchange.udp(.query(id: 7, name: name, type: .aaaa), to: fake.server, timeout: .seconds(2))
        for (result, type) in [(await a, DNSRecordType.a), (await aaaa, DNSRecordType.aaaa)] {
            guard case .success(.answer(let message)) = result else {
                Issue.record("expected an answer for \(type), got \(result)")
                continue
            }
            #expect(message.questions.first?.type == type)
        }
    }

    @Test("a refused server fails every query on the shared socket with the refusal, at once")
    func refusedServer() async throws {
        let down = DNSServer(address: Loopback.dnsServer(), port: 53)
        let exchange = DNSExchange(group: MultiThreadedEventLoopGroup.singleton)
        let name = try DNSName("ecs.test")
        let start = ContinuousClock.now
        async let a = exchange.udp(.query(id: 1, name: name, type: .a), to: down, timeout: .seconds(30))
        async let aaaa = exchange.udp(.query(id: 2, name: name, type: .aaaa), to: down, timeout: .seconds(30))
        for result in await [a, aaaa] {
            guard case .failure(.unreachable(let reason)) = result else {
                Issue.record("expected the refusal, got \(result)")
                continue
            }
            #expect(reason == "connection refused")
        }
        // Not the timeout: an answer well before it, even on a busy machine.
        #expect(ContinuousClock.now - start < .seconds(15))
    }
}
