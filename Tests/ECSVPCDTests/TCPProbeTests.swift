import ECSVPCCore
import ECSVPCD
import NIOCore
import NIOPosix
import Testing

/// The probe itself: non-blocking connects waited for in one poll. The dropped range (127.250/16) is the DROP
/// rule scripts/test installs for the run.
@Suite("TCP probe: every address at once, in one poll")
struct TCPProbeTests {
    @Test("open, refused and dropped addresses in one call each get their own outcome; the dropped one its timeout")
    func outcomes() async throws {
        let listener = try TCPListener(address: Loopback.vpc(), port: 0)
        defer { listener.close() }
        let refused = Loopback.publicAddress()
        let dropped = Loopback.dropped()
        let start = ContinuousClock.now
        let results = await TCPProbe().probe(
            [listener.address, refused, dropped, listener.address], port: listener.port, timeout: .milliseconds(700)
        )
        let elapsed = ContinuousClock.now - start
        #expect(results.count == 3)
        guard case .open(let milliseconds) = results[listener.address] else {
            Issue.record("the listener's address must be open, got \(String(describing: results[listener.address]))")
            return
        }
        #expect(milliseconds >= 0 && milliseconds < 700)
        #expect(results[refused] == .refused)
        #expect(results[dropped] == .timeout)
        // The dropped address was given its whole timeout, and the call did not wait much longer.
        #expect(elapsed >= .milliseconds(650))
        #expect(elapsed < .seconds(10))
    }

    @Test("an IPv6 address is probed like an IPv4 one")
    func ipv6() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "::1", port: 0).get()
        defer { server.close(promise: nil) }
        let port = try #require(server.localAddress?.port)
        let loopback = try #require(IPAddress("::1"))
        let results = await TCPProbe().probe([loopback], port: port, timeout: .seconds(2))
        #expect(results[loopback]?.isOpen == true)
        let closed = await TCPProbe().probe([loopback], port: 1, timeout: .seconds(2))
        #expect(closed[loopback] == .refused)
    }

    @Test("no addresses, no probe")
    func empty() async {
        #expect(await TCPProbe().probe([], port: 443, timeout: .seconds(1)).isEmpty)
    }
}
