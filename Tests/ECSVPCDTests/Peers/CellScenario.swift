import ECSVPCCore
import ECSVPCD
import Foundation
import Synchronization

/// A `DaemonScenario` whose stand-in runs in agent mode, as agent 1.105.1 does: it registers with a
/// DiscoverPollEndpoint peer (`ECS_BACKEND_HOST`, a loopback address of its own), caches the answer's cell hosts
/// (`ecs-a-3…`, `ecs-t-3…`) and holds its ACS and TCS websockets to them, redialling with a fresh DNS lookup.
///
/// The cell hosts resolve through the scenario's dnsmasq: public to addresses of their own (listened on here),
/// private to the endpoint addresses of `ecs-a` and `ecs-t` (as an endpoint's private DNS answers them). They
/// are not in DNS until `routeCells(_:)`, so the agent's first websockets connect when the test says. The agent's
/// log is a file in a test directory, bind-mounted as its /var/log/ecs and named by `ECSVPCD_AGENT_LOG`, or
/// (`logFile: false`) only the container's own log.
final class CellScenario: @unchecked Sendable {
    static let region = DaemonScenario.region
    /// The cell of the agent's first DiscoverPollEndpoint answer, and the one the peer can be told to answer later.
    static let acs3 = "ecs-a-3.\(region).amazonaws.com"
    static let tcs3 = "ecs-t-3.\(region).amazonaws.com"
    static let sc3 = "ecs-sc-3.\(region).amazonaws.com"
    static let acs4 = "ecs-a-4.\(region).amazonaws.com"
    static let tcs4 = "ecs-t-4.\(region).amazonaws.com"
    static let sc4 = "ecs-sc-4.\(region).amazonaws.com"
    /// The agent's log inside its container (ecs-init mounts /var/log/ecs).
    static let containerLogDirectory = "/var/log/ecs"

    let base: DaemonScenario
    let backend: DiscoverPollEndpointPeer
    /// The public addresses of ecs-a-3 and ecs-t-3 (ecs-sc-3 shares ecs-a-3's).
    let cellPublicAddresses: [IPAddress]
    /// Where the daemon reads the agent's log (`ECSVPCD_AGENT_LOG`); with `logFile: false`, a path with no file.
    let agentLogPath: String
    /// The directory of the agent's log, bind-mounted as the container's /var/log/ecs.
    let logs: TemporaryDirectory
    let hasLogFile: Bool
    private let cellListeners: [TCPListener]

    /// - Parameters:
    ///   - logFile: the stand-in writes its log to a file the daemon reads (else: only its container's log).
    ///   - cacheTTL, redialSeconds, redialJitterSeconds: the stand-in's poll endpoint cache and websocket lifetime.
    init(
        logFile: Bool = true, cacheTTL: Int = 43200, redialSeconds: Int = 1800, redialJitterSeconds: Int = 0
    ) async throws {
        cellPublicAddresses = [Loopback.publicAddress(), Loopback.publicAddress()]
        cellListeners = try cellPublicAddresses.map { try TCPListener(address: $0, port: DaemonScenario.probePort) }
        backend = try await DiscoverPollEndpointPeer(acs: Self.acs3, tcs: Self.tcs3)
        hasLogFile = logFile
        logs = try TemporaryDirectory()
        agentLogPath = logs.file("ecs-agent.log")
        var arguments = [
            "-e", "ECS_BACKEND_HOST=http://\(backend.address):\(backend.port)",
            "-e", "CACHE_TTL=\(cacheTTL)", "-e", "REDIAL_SECONDS=\(redialSeconds)",
            "-e", "REDIAL_JITTER_SECONDS=\(redialJitterSeconds)", "-e", "RETRY_SECONDS=1", "-e", "ECS_LOGLEVEL=debug",
            "-e", "AGENT_VERSION=Amazon ECS Agent - v1.105.1 (a8b3e7d3)",
        ]
        if logFile {
            arguments += [
                "-v", "\(logs.path):\(Self.containerLogDirectory)",
                "-e", "AGENT_LOG_FILE=\(Self.containerLogDirectory)/ecs-agent.log",
            ]
        }
        do {
            base = try await DaemonScenario(agentDockerArguments: arguments)
        } catch {
            for listener in cellListeners { listener.close() }
            backend.stop()
            throw error
        }
    }

    var agent: DaemonAgentContainer { base.agent }

    /// The scenario's configuration with `ECSVPCD_AGENT_LOG` set, and `changes` over the test defaults.
    @discardableResult
    func writeConfig(_ changes: [String: String] = [:]) throws -> String {
        try base.writeConfig(["ECSVPCD_AGENT_LOG": agentLogPath].merging(changes) { $1 })
    }

    // MARK: DNS

    /// ecs-a-3, ecs-t-3 and ecs-sc-3 to their public addresses, or to the endpoint addresses of ecs-a and ecs-t.
    func routeCells(_ route: DaemonScenario.Route) async throws {
        let acs = route == .vpc ? base.vpcAddresses[0] : cellPublicAddresses[0]
        let tcs = route == .vpc ? base.vpcAddresses[1] : cellPublicAddresses[1]
        try await base.dns.set(Self.acs3, [acs])
        try await base.dns.set(Self.sc3, [acs])
        try await base.dns.set(Self.tcs3, [tcs])
    }

    /// ecs-a-4, ecs-t-4 and ecs-sc-4 (a cell the endpoints' private DNS covers) to the endpoint addresses.
    func publishPrivateCell4() async throws {
        try await base.dns.set(Self.acs4, [base.vpcAddresses[0]])
        try await base.dns.set(Self.sc4, [base.vpcAddresses[0]])
        try await base.dns.set(Self.tcs4, [base.vpcAddresses[1]])
    }

    /// The three ECS names and the agent's cell hosts (3) together.
    func routeAll(_ route: DaemonScenario.Route) async throws {
        try await base.route(route)
        try await routeCells(route)
    }

    // MARK: The agent

    /// The agent's log as the daemon can read it: the file, else the container's log.
    func agentLog() async -> String {
        if hasLogFile { return (try? String(contentsOfFile: agentLogPath, encoding: .utf8)) ?? "" }
        return (try? await DaemonAgentContainer.docker(["logs", agent.name])) ?? ""
    }

    /// Waits until the agent's current run (since its last start line) has established both websockets, to the
    /// hosts given, and holds TCP connections to `addresses` (nil: the cell hosts' public addresses).
    func waitForWebsockets(acs: String = acs3, tcs: String = tcs3, addresses: [IPAddress]? = nil) async throws {
        let addresses = addresses ?? cellPublicAddresses
        try await waitUntil("the agent's websockets are established to \(acs) and \(tcs) (\(addresses))") {
            let log = await agentLog()
            guard let start = log.range(of: "msg=\"Starting Amazon ECS Agent\"", options: .backwards) else { return false }
            let run = log[start.upperBound...]
            let established = run.split(separator: "\n").filter { $0.contains("msg=\"Websocket connection established.\"") }
            guard established.contains(where: { $0.contains("https://\(acs)/") }),
                established.contains(where: { $0.contains("https://\(tcs)/") })
            else { return false }
            return addresses.allSatisfy { connections(to: $0) > 0 }
        }
    }

    /// `DaemonScenario.waitUntil`, whose failure also shows the end of the agent's log.
    func waitUntil(
        _ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool
    ) async throws {
        do {
            try await base.waitUntil(what, timeout: timeout, condition)
        } catch let failure as HarnessFailure {
            let tail = await agentLog().split(separator: "\n").suffix(60).joined(separator: "\n")
            throw HarnessFailure(failure.description + "\n--- agent log (its last 60 lines) ---\n" + tail)
        }
    }

    /// Connections held open to `address` now (a cell host's public address or an endpoint address).
    func connections(to address: IPAddress) -> Int {
        if let listener = cellListeners.first(where: { $0.address == address }) { return listener.openConnections }
        return base.connections(to: address)
    }

    /// `docker restart` of the agent (it exits 0 on SIGTERM); returns its new `StartedAt`.
    @discardableResult
    func restartAgent() async throws -> String {
        try await DaemonAgentContainer.docker(["restart", "-t", "5", agent.name])
        return try await agent.startedAt()
    }

    /// Appends lines of the agent's format to its log file, as if it wrote them.
    func appendToAgentLog(_ lines: [String]) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: agentLogPath))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(lines.map { $0 + "\n" }.joined().utf8))
    }

    /// The two "Websocket connection established." lines agent 1.105.1 writes when its ACS and TCS websockets to
    /// the cell hosts connect at `connected`, each to be closed and redialled after `seconds`.
    static func websocketsEstablishedLines(connected: Date, seconds: Int) -> [String] {
        func stamp(_ date: Date, _ format: String) -> String {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = format
            return formatter.string(from: date)
        }
        let time = stamp(connected, "yyyy-MM-dd'T'HH:mm:ss'Z'")
        let connect = stamp(connected, "yyyy-MM-dd HH:mm:ss")
        let expected = stamp(connected.addingTimeInterval(Double(seconds)), "yyyy-MM-dd HH:mm:ss")
        return [
            "https://\(acs3)/ws?agentHash=a8b3e7d3&protocolVersion=2&sendCredentials=false&seqNum=1",
            "https://\(tcs3)/ws?agentHash=a8b3e7d3&cluster=sandbox&containerInstance=sandbox",
        ].map { url in
            "level=info time=\(time) msg=\"Websocket connection established.\" URL=\"\(url)\" ConnectTime=\"\(connect)\" "
                + "maxConnectionDuration=\(seconds)s ExpectedDisconnectTime=\"\(expected)\""
        }
    }

    // MARK: The end

    func stop() {
        base.stop()
        for listener in cellListeners { listener.close() }
        backend.stop()
    }

    deinit { stop() }
}

/// Tests/Peers/discover-poll-endpoint.py on a loopback address of its own: the ECS API as the stand-in agent in
/// agent mode calls it (RegisterContainerInstance, DiscoverPollEndpoint). `answer(acs:tcs:)` restarts it on the
/// same address and port with another cell.
final class DiscoverPollEndpointPeer: @unchecked Sendable {
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Peers/discover-poll-endpoint.py").path
    static let port = 8080

    let address: IPAddress
    let port: Int
    let directory: TemporaryDirectory
    private let process: Mutex<PeerProcess?> = Mutex(nil)
    private let hanging: Mutex<TCPListener?> = Mutex(nil)
    private let generation = Mutex(0)

    init(acs: String, tcs: String) async throws {
        address = Loopback.publicAddress()
        port = Self.port
        directory = try TemporaryDirectory()
        try await answer(acs: acs, tcs: tcs)
    }

    /// (Re)starts the peer answering DiscoverPollEndpoint with these cell hosts; returns once it listens.
    func answer(acs: String, tcs: String) async throws {
        stop()
        let n = generation.withLock { value -> Int in
            value += 1
            return value
        }
        let count = directory.file("count-\(n)")
        let peer = try PeerProcess(
            "/usr/bin/python3",
            [Self.script, "--listen", address.description, "--port", String(port), "--acs", acs, "--tcs", tcs,
             "--count", count, "--log", directory.file("requests.log")],
            name: "discover-poll-endpoint \(address)"
        )
        process.withLock { $0 = peer }
        // The count file is written once the server is bound and listening.
        let deadline = ContinuousClock.now + .seconds(10)
        while !FileManager.default.fileExists(atPath: count) {
            guard ContinuousClock.now < deadline, peer.process.isRunning else {
                throw HarnessFailure("the DiscoverPollEndpoint peer on \(address):\(port) did not start")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Replaces the peer with a listener that accepts and never answers: the ECS API hanging. The agent's call
    /// then ends at its own timeout (10 s in the stand-in) and it reuses its expired cache entry.
    func hang() throws {
        stop()
        let listener = try TCPListener(address: address, port: port)
        hanging.withLock { $0 = listener }
    }

    func stop() {
        process.withLock { value in
            value?.stop()
            value = nil
        }
        hanging.withLock { value in
            value?.close()
            value = nil
        }
    }

    deinit { stop() }
}
