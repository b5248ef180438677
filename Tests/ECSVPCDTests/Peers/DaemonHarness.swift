import ECSVPCCore
import ECSVPCD
import Foundation
import Synchronization

/// One simulated instance for `ecsvpcd run`, every peer on loopback and unique to the test, so tests run in
/// parallel: a real dnsmasq answering the three ECS names (public 127.200.x or VPC 127.16.x, flipped with
/// `route(_:)`), the IMDSv2 emulator (VPC 127.16.0.0/16, a unique instance id), TCP listeners on port 443 of
/// every address, a uniquely named stand-in agent container on the run's dockerd that holds a connection to
/// ecs-a, and a configuration file for the built binary. `stop()` takes everything down, daemons included.
final class DaemonScenario: @unchecked Sendable {
    static let region = "us-east-1"
    static let ecsA = "ecs-a.\(region).amazonaws.com"
    static let ecsT = "ecs-t.\(region).amazonaws.com"
    static let ecs = "ecs.\(region).amazonaws.com"
    static let names = [ecsA, ecsT, ecs]
    static let probePort = 443
    private static let counter = Mutex(0)

    enum Route { case publicAddresses, vpc }

    let instanceID: String
    let imds: InstanceMetadataEmulator
    let dns: Dnsmasq
    let publicAddresses: [IPAddress]
    let vpcAddresses: [IPAddress]
    let agent: DaemonAgentContainer
    let directory: TemporaryDirectory
    let dockerHost: String
    private let vpcBlocks: [String]
    private let listeners: Mutex<[IPAddress: TCPListener]>
    private let daemons = Mutex<[DaemonProcess]>([])
    private let overrides = Mutex<[String: String]>([:])

    /// - Parameters:
    ///   - vpcAddresses: the names' VPC answers (default: three fresh 127.16.x addresses).
    ///   - silent: VPC answers where nothing listens (refused, or dropped in 127.250/16).
    ///   - vpcBlocks: the VPC CIDR blocks instance metadata reports.
    ///   - instanceID: picked by the test (the restart slot depends on it); default: unique per scenario.
    ///   - agentDockerArguments: more `docker run` options for the stand-in (e.g. a stop signal it ignores).
    init(
        vpcAddresses: [IPAddress]? = nil,
        silent: Set<IPAddress> = [],
        vpcBlocks: [String] = [Loopback.vpcCIDR.description],
        instanceID: String? = nil,
        agentDockerArguments: [String] = []
    ) async throws {
        let n = Self.counter.withLock { value -> Int in
            value += 1
            return value
        }
        self.instanceID = instanceID ?? String(format: "i-0d%07x%08x", Int(getpid()) & 0xfffffff, n)
        dockerHost = try TestDocker.host()
        self.vpcBlocks = vpcBlocks
        publicAddresses = Self.names.map { _ in Loopback.publicAddress() }
        self.vpcAddresses = vpcAddresses ?? Self.names.map { _ in Loopback.vpc() }
        directory = try TemporaryDirectory()
        try directory.write("resolv.conf", "options timeout:1 attempts:1\n")
        try directory.write("hosts", "")
        try directory.write("ecs.config", "ECS_CLUSTER=sandbox\n")
        imds = try await InstanceMetadataEmulator(values: Self.metadata(instanceID: self.instanceID, vpcBlocks: vpcBlocks))
        dns = try await Dnsmasq(
            names: Dictionary(uniqueKeysWithValues: zip(Self.names, publicAddresses.map { [$0] })), ttl: 1)
        var listening: [IPAddress: TCPListener] = [:]
        for address in Set(publicAddresses + self.vpcAddresses).subtracting(silent) {
            listening[address] = try TCPListener(address: address, port: Self.probePort)
        }
        listeners = Mutex(listening)
        agent = try await DaemonAgentContainer(
            ecsName: Self.ecsA, dnsServer: dns.server.address.description, probePort: Self.probePort,
            dockerArguments: agentDockerArguments
        )
    }

    static func metadata(instanceID: String, vpcBlocks: [String]) -> [String: String] {
        var values = InstanceMetadataEmulator.instance(region: region, ipv4: vpcBlocks)
        values["instance-id"] = instanceID
        return values
    }

    /// Reports another instance id from instance metadata (a daemon reads it when it starts).
    func setInstanceID(_ id: String) throws {
        try imds.set(Self.metadata(instanceID: id, vpcBlocks: vpcBlocks))
    }

    // MARK: Peers

    /// Flips the three names (or `only` these) to the public or the VPC addresses; returns once dnsmasq serves them.
    func route(_ route: Route, only: [String] = DaemonScenario.names) async throws {
        for (index, name) in Self.names.enumerated() where only.contains(name) {
            try await dns.set(name, [route == .vpc ? vpcAddresses[index] : publicAddresses[index]])
        }
    }

    /// Connections held open to `address` now.
    func connections(to address: IPAddress) -> Int {
        listeners.withLock { $0[address] }?.openConnections ?? 0
    }

    /// Opens or closes the port-443 listener of `address` (one of the names' addresses): closed, the address
    /// refuses connections and every connection held to it ends, as when an endpoint's security group stops
    /// allowing 443.
    func setListening(_ address: IPAddress, _ listening: Bool) throws {
        try listeners.withLock { listeners in
            if listening, listeners[address] == nil {
                listeners[address] = try TCPListener(address: address, port: Self.probePort)
            } else if !listening, let listener = listeners.removeValue(forKey: address) {
                listener.close()
            }
        }
    }

    /// Waits until the stand-in holds a connection to `address` (ecs-a's public or VPC address).
    func waitForAgentConnection(to address: IPAddress, timeout: Duration = .seconds(20)) async throws {
        try await waitUntil("the stand-in agent connects to \(address)", timeout: timeout) {
            connections(to: address) > 0
        }
    }

    // MARK: Configuration

    /// The configuration file (every peer on loopback), with `changes` over the test defaults (short interval,
    /// two stable probes, a 3 s window); the changes stay for later calls.
    @discardableResult
    func writeConfig(_ changes: [String: String] = [:]) throws -> String {
        let merged = overrides.withLock { value in
            value.merge(changes) { $1 }
            return value
        }
        var keys: [(String, String)] = [
            ("ECSVPCD_IMDS_ENDPOINT", imds.endpoint),
            ("ECSVPCD_RESOLV_CONF", directory.file("resolv.conf")),
            ("ECSVPCD_DNS_SERVERS", HostPort(address: dns.server.address, port: dns.server.port).description),
            // As on an instance but for what would leave the machine: an empty hosts file, not `off` (which
            // once hid a leak), and our dnsmasq as the Amazon-provided resolver.
            ("ECSVPCD_HOSTS_FILE", directory.file("hosts")),
            ("ECSVPCD_AMAZON_DNS", HostPort(address: dns.server.address, port: dns.server.port).description),
            ("ECSVPCD_PROBE_PORT", String(Self.probePort)),
            ("ECSVPCD_PROBE_TIMEOUT", "700ms"),
            ("ECSVPCD_DOCKER_HOST", dockerHost),
            ("ECSVPCD_AGENT_CONTAINER", agent.name),
            ("ECSVPCD_AGENT_INTROSPECTION", agent.introspectionURL),
            ("ECSVPCD_AGENT_CONFIG", directory.file("ecs.config")),
            ("ECSVPCD_RESTART_VIA", "docker"),
            ("ECSVPCD_INTERVAL", "1s"),
            ("ECSVPCD_STABLE_PROBES", "2"),
            ("ECSVPCD_RESTART_WINDOW", "3s"),
            ("ECSVPCD_STATE_DIR", stateDir),
            ("ECSVPCD_RUNTIME_DIR", directory.file("run")),
            ("ECSVPCD_LOG", "stderr"),
        ]
        keys = keys.map { key, value in (key, merged[key] ?? value) }
        keys += merged.filter { key, _ in !keys.contains { $0.0 == key } }.sorted { $0.key < $1.key }
        let text = "# daemon test: every peer on loopback\n" + keys.map { "\($0)=\($1)\n" }.joined()
        try directory.write("ecsvpcd.conf", text)
        return configPath
    }

    var configPath: String { directory.file("ecsvpcd.conf") }
    var stateDir: String { directory.file("state") }

    /// The settings the daemon reads from the configuration file (for in-process observations).
    func settings() throws -> Settings {
        try SettingsLoader.load(path: configPath, explicit: true, environment: [:])
    }

    // MARK: The daemon

    /// Starts `ecsvpcd run --config FILE` (the built binary), its stderr appended to `daemon.log`, and waits
    /// until it has published its first status.
    @discardableResult
    func startDaemon(waitForStatus: Bool = true, environment: [String: String] = [:]) async throws -> DaemonProcess {
        if !FileManager.default.fileExists(atPath: configPath) { try writeConfig() }
        let previous = savedStatus()?.updatedAt
        let daemon = try DaemonProcess(arguments: ["run", "--config", configPath], log: logPath, environment: environment)
        daemons.withLock { $0.append(daemon) }
        if waitForStatus {
            try await waitUntil("ecsvpcd publishes its first status", timeout: .seconds(20)) {
                guard daemon.isRunning else { throw HarnessFailure("ecsvpcd exited with \(daemon.exitDescription)\n\(log)") }
                guard let document = savedStatus(), document.agent != nil else { return false }
                return document.updatedAt != previous
            }
        }
        return daemon
    }

    var logPath: String { directory.file("daemon.log") }

    /// Everything every daemon of this scenario wrote.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The restart ledger from `state.json`.
    func ledger() -> RestartLedger? {
        struct StateFile: Decodable { var schema: Int; var ledger: RestartLedger }
        guard let data = FileManager.default.contents(atPath: stateDir + "/state.json") else { return nil }
        return try? StatusDocument.decoder().decode(StateFile.self, from: data).ledger
    }

    var history: [StatusDocument.RestartRecord] { ledger()?.history ?? [] }

    /// The last status document the daemon saved (`status.json`).
    func savedStatus() -> StatusDocument? {
        guard let data = FileManager.default.contents(atPath: stateDir + "/status.json") else { return nil }
        return try? StatusDocument.decoder().decode(StatusDocument.self, from: data)
    }

    /// Runs the built binary with `arguments` and `--config` (default: the scenario's), without the test's environment.
    func command(_ arguments: [String], config: String? = nil) async throws -> CommandRun {
        try await CommandRun.run(arguments + ["--config", config ?? configPath])
    }

    /// `ecsvpcd status --json`: the exit code and the document.
    func status(config: String? = nil) async throws -> (code: Int32, document: StatusDocument) {
        let run = try await command(["status", "--json"], config: config)
        do {
            return (run.status, try StatusDocument.decoder().decode(StatusDocument.self, from: Data(run.stdout.utf8)))
        } catch {
            throw HarnessFailure("status --json exited \(run.status): \(error)\nstdout: \(run.stdout)\nstderr: \(run.stderr)")
        }
    }

    /// Polls `condition` every 100 ms until it holds; on timeout fails with the daemon's log.
    func waitUntil(
        _ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessFailure(
            "timed out after \(timeout) waiting until \(what)\nstate: \(String(describing: ledger()))\n"
                + "status: \(savedStatus()?.summary ?? "none")\n--- daemon log ---\n\(log)"
        )
    }

    /// Waits until the history has `count` records and the last has settled (a verified restart is `settling`
    /// for its settle time, then `verified` or `lost-after-restart`); returns it.
    @discardableResult
    func waitForRestart(count: Int = 1, timeout: Duration = .seconds(60)) async throws -> StatusDocument.RestartRecord {
        try await waitUntil("\(count) restart(s) are recorded and settled", timeout: timeout) {
            history.count >= count && history[count - 1].result != StatusDocument.RestartRecord.settling
        }
        return history[count - 1]
    }

    /// Stops the daemons, removes the agent and closes the listeners; dnsmasq and the emulator stop when the
    /// scenario is released (their processes end with them).
    func stop() {
        for daemon in daemons.withLock({ $0 }) { daemon.stop() }
        agent.remove()
        for listener in listeners.withLock({ $0.values }) { listener.close() }
    }

    deinit { stop() }
}

/// A stand-in agent container of one daemon test: like `StandinAgent`, with room for more `docker run` options.
final class DaemonAgentContainer: @unchecked Sendable {
    private static let counter = Mutex(0)

    let name: String
    let introspectionPort: Int
    private let removed = Mutex(false)

    init(ecsName: String, dnsServer: String, probePort: Int, dockerArguments: [String]) async throws {
        let n = Self.counter.withLock { value -> Int in
            value += 1
            return value
        }
        name = "ecsvpcd-daemon-test-\(getpid())-\(n)"
        introspectionPort = try DaemonAgentContainer.freePort()
        let arguments = ["run", "-d", "--name", name, "--label", "ecsvpcd-test=1", "--network", "host"]
            + dockerArguments
            + ["-e", "INTROSPECTION_PORT=\(introspectionPort)", "-e", "ECS_NAME=\(ecsName)",
               "-e", "DNS_SERVER=\(dnsServer)", "-e", "PROBE_PORT=\(probePort)", StandinAgent.image]
        try await Self.docker(arguments)
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            let reply = try? await HTTPClient().send(
                "GET", .tcp(host: "127.0.0.1", port: introspectionPort), path: "/v1/metadata", timeout: .seconds(1)
            )
            if reply?.status == 200 { return }
            do { try await Task.sleep(for: .milliseconds(100)) } catch { remove(); throw error }
        }
        // The container is removed here: the caller never gets an instance to remove it.
        remove()
        throw HarnessFailure("stand-in agent \(name) did not serve \(introspectionURL) within 15 s")
    }

    var introspectionURL: String { "http://127.0.0.1:\(introspectionPort)" }

    /// `State.StartedAt` as Docker prints it (nanoseconds): changes on every start.
    func startedAt() async throws -> String {
        try await Self.docker(["inspect", "-f", "{{.State.StartedAt}}", name])
    }

    func isRunning() async throws -> Bool {
        try await Self.docker(["inspect", "-f", "{{.State.Running}}", name]) == "true"
    }

    @discardableResult
    static func docker(_ arguments: [String]) async throws -> String {
        try await offThread { try TestDocker.run(arguments) }
    }

    func remove() {
        guard !removed.withLock({ value in defer { value = true }; return value }) else { return }
        _ = try? TestDocker.run(["rm", "-f", name])
    }

    deinit { remove() }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessFailure("socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { throw HarnessFailure("cannot find a free port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// `ecsvpcd run` as a child (a `PeerProcess`: empty signal mask, its own pid), stdout and stderr appended to `log`.
///
/// A python shim closes every inherited descriptor above 2 before it execs ecsvpcd: the test process's listening
/// sockets are not close-on-exec, and a daemon holding one would keep a "closed" listener listening.
final class DaemonProcess: @unchecked Sendable {
    private static let shim = """
        import os, sys
        fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.closerange(3, 1 << 20)
        os.execv(sys.argv[2], sys.argv[2:])
        """

    let peer: PeerProcess

    init(arguments: [String], log: String, environment: [String: String] = [:]) throws {
        let binary = try builtECSVPCD()
        peer = try PeerProcess(
            "/usr/bin/python3", ["-c", Self.shim, log, binary] + arguments, name: "ecsvpcd",
            environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "NO_COLOR": "1"].merging(environment) { $1 }
        )
    }

    var pid: Int32 { peer.pid }
    var isRunning: Bool { peer.process.isRunning }

    func signal(_ signal: Int32) { peer.signal(signal) }

    /// Waits up to `timeout` for the process to end; true if it did.
    func waitForExit(timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        return !isRunning
    }

    /// `exit N` (128 + the signal when a signal ended it), once ended.
    var exitDescription: String {
        isRunning ? "still running" : "exit \(peer.process.terminationStatus)"
    }

    func stop() { peer.stop() }
}

/// One run of the built binary to its end.
struct CommandRun: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String

    static func run(_ arguments: [String]) async throws -> CommandRun {
        let binary = try builtECSVPCD()
        return try await offThread {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
            process.environment = ["PATH": "/usr/bin:/bin", "NO_COLOR": "1"]
            let directory = try TemporaryDirectory()
            _ = FileManager.default.createFile(atPath: directory.file("out"), contents: nil)
            _ = FileManager.default.createFile(atPath: directory.file("err"), contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: directory.file("out")))
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: directory.file("err")))
            process.standardInput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return CommandRun(
                status: process.terminationStatus,
                stdout: (try? String(contentsOfFile: directory.file("out"), encoding: .utf8)) ?? "",
                stderr: (try? String(contentsOfFile: directory.file("err"), encoding: .utf8)) ?? ""
            )
        }
    }
}

/// A forwarder between ecsvpcd and the run's dockerd (Tests' own unix socket), which the test can take down:
/// `fail-restart` lets everything through until a container restart request arrives, closes that connection
/// unanswered and stops listening ("dockerd went away during the restart"); `up` listens and forwards again.
final class DockerSocketForwarder: @unchecked Sendable {
    private static let script = #"""
        import os, selectors, socket, sys
        listen_path, upstream_path, mode_path = sys.argv[1:4]
        selector = selectors.DefaultSelector()
        server = None
        peers = {}

        def mode():
            try:
                return open(mode_path).read().strip()
            except OSError:
                return "up"

        def set_mode(value):
            with open(mode_path + ".tmp", "w") as f:
                f.write(value)
            os.rename(mode_path + ".tmp", mode_path)

        def drop(sock):
            other = peers.pop(sock, None)
            for s in (sock, other):
                if s is None:
                    continue
                peers.pop(s, None)
                try:
                    selector.unregister(s)
                except (KeyError, ValueError):
                    pass
                s.close()

        def listen():
            global server
            try:
                os.unlink(listen_path)
            except FileNotFoundError:
                pass
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.bind(listen_path)
            server.listen(64)
            server.setblocking(False)
            selector.register(server, selectors.EVENT_READ, "accept")

        def unlisten():
            global server
            selector.unregister(server)
            server.close()
            server = None
            try:
                os.unlink(listen_path)
            except FileNotFoundError:
                pass
            for s in list(peers):
                drop(s)

        listen()
        print("ready", flush=True)
        while True:
            current = mode()
            if current == "down" and server is not None:
                unlisten()
            if current != "down" and server is None:
                listen()
            for key, _ in selector.select(timeout=0.05):
                if key.data == "accept":
                    try:
                        client, _ = server.accept()
                    except OSError:
                        continue
                    client.setblocking(True)
                    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    upstream.connect(upstream_path)
                    peers[client] = upstream
                    peers[upstream] = client
                    selector.register(client, selectors.EVENT_READ, "client")
                    selector.register(upstream, selectors.EVENT_READ, "upstream")
                    continue
                sock = key.fileobj
                if sock not in peers:
                    continue
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    drop(sock)
                    continue
                request_line = data.split(b"\r\n", 1)[0]
                if key.data == "client" and mode() == "fail-restart" and request_line.startswith(b"POST ") and b"/restart" in request_line:
                    set_mode("down")
                    drop(sock)
                    unlisten()
                    continue
                try:
                    peers[sock].sendall(data)
                except OSError:
                    drop(sock)
        """#

    let directory: TemporaryDirectory
    private let process: PeerProcess

    /// Forwards `unix://` `upstream` (the run's dockerd) on a socket of its own.
    init(upstream: String) async throws {
        directory = try TemporaryDirectory()
        try directory.write("forwarder.py", Self.script)
        let upstreamPath = String(upstream.dropFirst("unix://".count))
        process = try PeerProcess(
            "/usr/bin/python3", [directory.file("forwarder.py"), directory.file("docker.sock"), upstreamPath, directory.file("mode")],
            name: "docker forwarder"
        )
        let deadline = ContinuousClock.now + .seconds(10)
        while !FileManager.default.fileExists(atPath: directory.file("docker.sock")) {
            guard ContinuousClock.now < deadline, process.process.isRunning else {
                throw HarnessFailure("the docker socket forwarder did not start")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// `unix://…`, as `ECSVPCD_DOCKER_HOST` takes it.
    var host: String { "unix://" + directory.file("docker.sock") }

    var mode: String {
        get { ((try? String(contentsOfFile: directory.file("mode"), encoding: .utf8)) ?? "up").trimmingCharacters(in: .whitespacesAndNewlines) }
        set { try? directory.write("mode", newValue) }
    }

    func stop() { process.stop() }

    deinit { stop() }
}

struct HarnessFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs blocking work (the docker CLI, a child process to its end) on a thread of its own, not on the
/// cooperative pool that every parallel test shares.
func offThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.start()
    }
}

extension DaemonScenario {
    /// Sets an instance id whose restart slot for the VPC answers satisfies `slot` (the offset in seconds), and
    /// returns it with that offset and the configuration key. The DNS answers are left public again.
    @discardableResult
    func setInstanceID(
        prefix: String, slot: (TimeInterval) -> Bool
    ) async throws -> (id: String, offset: TimeInterval, key: String) {
        try await route(.vpc)
        let observed = try await Check(environment: ObservationEnvironment(settings: settings())).run()
        let key = EndpointAssessment(
            endpoints: observed.endpoints, configuration: observed.configuration, findings: observed.findings
        ).configurationKey
        try await route(.publicAddresses)
        let policy = RestartPolicy(try settings())
        let found = (0..<10_000).lazy.map { String(format: "i-\(prefix)%015x", $0 + Int(getpid()) * 10_000) }
            .map { ($0, RestartPlanner(policy: policy, seed: $0).slotOffset(configurationKey: key)) }
            .first { slot($0.1) }
        guard let (id, offset) = found else { throw HarnessFailure("no instance id with such a slot in 10,000 tries") }
        try setInstanceID(id)
        return (id, offset, key)
    }
}

/// `ecsvpcd` in the build products directory, beside the test bundle this process runs from.
func builtECSVPCD() throws -> String {
    let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    var directory = URL(fileURLWithPath: exe).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent("ecsvpcd").path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
            FileManager.default.isExecutableFile(atPath: candidate)
        {
            return candidate
        }
        directory.deleteLastPathComponent()
    }
    throw HarnessFailure("ecsvpcd must be built next to the test bundle (swift build builds it with the tests)")
}
