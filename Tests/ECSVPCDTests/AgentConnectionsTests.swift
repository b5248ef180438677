import ECSVPCCore
import Foundation
import Logging
import Testing

@testable import ECSVPCD

@Suite("Agent connections")
struct AgentConnectionsTests {
    @Test("parses /proc/net/tcp and tcp6 addresses word by word, little-endian")
    func parsesTables() {
        let tcp = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5001 1 0000000000000000 100 0 0 10 0
               1: 0100007F:C350 0201C87F:01BB 01 00000000:00000000 02:000A7B43 00000000     0        0 5002 2 0000000000000000 20 4 30 10 -1
            garbage line
            """
        let entries = TCPTableEntry.parse(tcp)
        #expect(entries.count == 2)
        #expect(entries[0].local == IPAddress("127.0.0.1") && entries[0].localPort == 8080 && entries[0].state == .listen)
        #expect(entries[1].remote == IPAddress("127.200.1.2") && entries[1].remotePort == 443)
        #expect(entries[1].state == .established && entries[1].inode == 5002)
        let tcp6 = """
              sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 00000000000000000000000001000000:9C40 0000000000000000FFFF00000500117F:01BB 01 00000000:00000000 00:00000000 00000000     0        0 6001 1 0000000000000000 20 4 0 10 -1
               1: 00000000000000000000000001000000:9C41 B80D0120000000000000000001000000:01BB 01 00000000:00000000 00:00000000 00000000     0        0 6002 1 0000000000000000 20 4 0 10 -1
            """
        let six = TCPTableEntry.parse(tcp6)
        #expect(six.map(\.local) == [IPAddress("::1")!, IPAddress("::1")!])
        #expect(six[0].remote == IPAddress("::ffff:127.17.0.5"))
        #expect(six[0].remote.unmapped == IPAddress("127.17.0.5"))
        #expect(six[1].remote == IPAddress("2001:db8::1"))
    }

    @Test("a port of more than four hex digits, or with a sign, is no entry (found by fuzz/run proc-net-tcp)")
    func refusesPortsOutOfRange() {
        let line = { (port: String) in
            "   0: 00000000:\(port) 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5001 1"
        }
        #expect(TCPTableEntry.parse(line("207E8")).isEmpty)
        #expect(TCPTableEntry.parse(line("-1")).isEmpty)
        #expect(TCPTableEntry.parse(line("+1BB")).isEmpty)
        #expect(TCPTableEntry.parse(line("FFFF")).map(\.localPort) == [65535])
        #expect(TCPTableEntry.parse(line("01BB")).map(\.localPort) == [443])
    }

    @Test("collects the sockets of the main process and its descendants only (fixture /proc)")
    func fixtureTree() throws {
        let dir = try TemporaryDirectory()
        let root = dir.path
        func process(_ pid: Int, _ stat: String, fds: [Int: String]) throws {
            try FileManager.default.createDirectory(atPath: "\(root)/\(pid)/fd", withIntermediateDirectories: true)
            try stat.write(toFile: "\(root)/\(pid)/stat", atomically: true, encoding: .utf8)
            for (fd, target) in fds {
                try FileManager.default.createSymbolicLink(atPath: "\(root)/\(pid)/fd/\(fd)", withDestinationPath: target)
            }
        }
        try process(100, "100 (agent) S 1 100 100 0 -1", fds: [0: "/dev/null", 3: "socket:[1111]"])
        try process(101, "101 (nc (odd) name) S 100 100 100 0 -1", fds: [4: "socket:[2222]"])
        try process(102, "102 (grandchild) S 101 100 100 0 -1", fds: [5: "socket:[4444]"])
        try process(200, "200 (other) S 1 200 200 0 -1", fds: [5: "socket:[3333]"])
        try FileManager.default.createDirectory(atPath: "\(root)/100/net", withIntermediateDirectories: true)
        let header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        func line(_ remote: String, _ state: String, _ inode: Int) -> String {
            "   0: 0100007F:C350 \(remote) \(state) 00000000:00000000 00:00000000 00000000     0        0 \(inode) 1 0\n"
        }
        try (header + line("0201C87F:01BB", "01", 2222)  // child: 127.200.1.2:443
            + line("0201C87F:0050", "01", 1111)  // port 80: not the probe port
            + line("0909C87F:01BB", "01", 3333)  // another process
            + line("0301C87F:01BB", "06", 4444)  // TIME_WAIT
            + line("0201C87F:01BB", "01", 4444)  // grandchild, same remote as the child
        ).write(toFile: "\(root)/100/net/tcp", atomically: true, encoding: .utf8)
        try (header + line("0000000000000000FFFF00000500117F:01BB", "01", 1111))
            .write(toFile: "\(root)/100/net/tcp6", atomically: true, encoding: .utf8)

        let reader = AgentConnectionsReader(procRoot: root)
        #expect(try reader.processTree(root: 100).sorted() == [100, 101, 102])
        #expect(reader.sockets(mainPid: 100, remotePort: 443) == .remotes([IPAddress("127.17.0.5")!, IPAddress("127.200.1.2")!]))
        #expect(reader.sockets(mainPid: 100, remotePort: 8443) == .remotes([]))
        guard case .unknown(let gone) = reader.sockets(mainPid: 999, remotePort: 443) else {
            Issue.record("a missing process must be unknown")
            return
        }
        #expect(gone.contains("999"))
        guard case .unknown = reader.sockets(mainPid: 0, remotePort: 443) else {
            Issue.record("pid 0 must be unknown")
            return
        }
    }

    @Test("the stand-in agent connected to a listener on 127.200.x.y shows exactly that address")
    func liveConnection() async throws {
        let address = Loopback.publicAddress()
        let listener = try TCPListener(address: address, port: 0)
        defer { listener.close() }
        let agent = try StandinAgent(environment: ["PROBE_ADDRESS": "\(address)", "PROBE_PORT": "\(listener.port)"])
        defer { agent.remove() }
        try await waitFor("the stand-in to connect to \(address):\(listener.port)") { listener.openConnections >= 1 }
        let docker = DockerEngine(target: try HTTPTarget(url: try TestDocker.host()))
        let container = try #require(try await docker.inspect(agent.name))
        let sockets = AgentConnectionsReader().sockets(mainPid: container.pid, remotePort: listener.port)
        #expect(sockets == .remotes([address]))
    }

    @Test("the stand-in reconnects when its connection drops")
    func reconnects() async throws {
        let address = Loopback.publicAddress()
        let first = try TCPListener(address: address, port: 0)
        let port = first.port
        let agent = try StandinAgent(environment: ["PROBE_ADDRESS": "\(address)", "PROBE_PORT": "\(port)"])
        defer { agent.remove() }
        try await waitFor("the first connection") { first.openConnections >= 1 }
        first.close()
        let second = try TCPListener(address: address, port: port)
        defer { second.close() }
        try await waitFor("the stand-in to reconnect") { second.openConnections >= 1 }
    }

    @Test("the observer puts container, introspection, settings, connections and restart path together")
    func observer() async throws {
        let address = Loopback.publicAddress()
        let listener = try TCPListener(address: address, port: 0)
        defer { listener.close() }
        let agent = try StandinAgent(environment: ["PROBE_ADDRESS": "\(address)", "PROBE_PORT": "\(listener.port)"])
        defer { agent.remove() }
        try await agent.waitUntilServing()
        try await waitFor("the stand-in to connect") { listener.openConnections >= 1 }
        let dir = try TemporaryDirectory()
        try dir.write("ecs.config", "HTTPS_PROXY=http://proxy.internal:3128\nNO_PROXY=169.254.169.254\n")
        let docker = DockerEngine(target: try HTTPTarget(url: try TestDocker.host()))
        let observer = AgentObserver(
            container: agent.name,
            docker: docker,
            introspection: AgentIntrospection(target: try HTTPTarget(url: agent.introspectionURL)),
            settings: AgentSettingsReader(paths: [dir.file("ecs.config")]),
            probePort: listener.port,
            supervisor: AgentSupervisor(via: .auto, container: agent.name, docker: docker),
            logger: Logger(label: "test")
        )
        let observation = await observer.observe()
        #expect(observation.containerError == nil)
        #expect(observation.container?.running == true)
        #expect(observation.metadata?.cluster == "sandbox")
        #expect(observation.metadataError == nil)
        #expect(observation.settings.httpsProxy == "http://proxy.internal:3128")
        #expect(observation.sockets == .remotes([address]))
        #expect(observation.supervisor == .docker)

        let missing = AgentObserver(
            container: "ecsvpcd-test-absent-\(getpid())", docker: docker,
            introspection: AgentIntrospection(target: .tcp(host: "127.0.0.1", port: 1)),
            settings: AgentSettingsReader(paths: []), supervisor: AgentSupervisor(docker: docker), logger: Logger(label: "test")
        )
        let none = await missing.observe()
        #expect(none.container == nil && none.containerError == nil)
        #expect(none.metadataError != nil)
        guard case .unknown(let why) = none.sockets else {
            Issue.record("no container: connections unknown")
            return
        }
        #expect(why.contains("no container"))
    }

    private func waitFor(_ what: String, timeout: Duration = .seconds(10), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting for \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
