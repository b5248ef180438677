import ECSVPCCore
import Foundation
import Synchronization
import Testing

@testable import ECSVPCD

private let region = "us-east-1"
private let under = "\(region).amazonaws.com"
private let account = "123456789012"
private let ecrRegistry = "\(account).dkr.ecr.\(under)"
private let ecrAPI = "api.ecr.\(under)"
private let layers = "prod-\(region)-starport-layer-bucket.s3.\(under)"
private let logs = "logs.\(under)"
private let ssmNames = ["ssm", "ssmmessages", "ec2messages"].map { "\($0).\(under)" }
private let ecsNames = ["ecs-a", "ecs-t", "ecs"].map { "\($0).\(under)" }
private let probePort = 8443

/// Task containers as the ECS agent makes them, on the run's dockerd: its `com.amazonaws.ecs.task-arn` and
/// `…container-name` labels, an ECR-like image name (the stand-in image tagged so), a log configuration, and for
/// ECS Exec a bind mount where the agent puts its managed SSM agent. They are created, not started, except with
/// `running`: an awslogs container cannot start here (its driver would ask AWS for credentials), and a created
/// container is listed like one of a task about to start. Removed, with their tags, by `remove()`.
private final class TaskContainers: @unchecked Sendable {
    private var names: [String] = []
    private var tags: Set<String> = []
    private static let counter = Mutex(0)

    @discardableResult
    func add(
        _ containerName: String, image: String, running: Bool = false, awslogsRegion: String?? = nil,
        exec: Bool = false
    ) throws -> String {
        let n = Self.counter.withLock { value -> Int in
            value += 1
            return value
        }
        let name = "ecsvpcd-task-\(getpid())-\(n)"
        if image != StandinAgent.image, !tags.contains(image) {
            try TestDocker.run(["tag", StandinAgent.image, image])
            tags.insert(image)
        }
        var arguments = [running ? "run" : "create", "--name", name, "--label", "ecsvpcd-test=1"]
        if running { arguments += ["-d", "--network", "none", "--entrypoint", "/bin/sleep"] }
        arguments += ["--label", "\(DockerEngine.taskARNLabel)=arn:aws:ecs:\(region):\(account):task/test/\(n)"]
        arguments += ["--label", "\(DockerEngine.containerNameLabel)=\(containerName)"]
        if let awslogsRegion {
            arguments += ["--log-driver", "awslogs", "--log-opt", "awslogs-group=/ecs/test"]
            if let awslogsRegion { arguments += ["--log-opt", "awslogs-region=\(awslogsRegion)"] }
        }
        if exec { arguments += ["-v", "/tmp:/ecs-execute-command-\(UUID().uuidString.lowercased())/bin:ro"] }
        arguments.append(image)
        if running { arguments.append("600") }
        try TestDocker.run(arguments)
        names.append(name)
        return name
    }

    func remove() {
        if !names.isEmpty { _ = try? TestDocker.run(["rm", "-f"] + names) }
        for tag in tags { _ = try? TestDocker.run(["rmi", tag]) }
        names = []
        tags = []
    }

    deinit { remove() }
}

/// One instance for `ecsvpcd check` with its tasks: the IMDSv2 emulator (VPC 127.16.0.0/16), a real dnsmasq
/// answering the ECS names and the related names, TCP listeners on the addresses that accept connections
/// (127.250.0.0/16 is dropped by the run's firewall rule: S3 without a route), the run's dockerd.
private final class ServicesSandbox: @unchecked Sendable {
    let imds: InstanceMetadataEmulator
    let dns: Dnsmasq
    let listeners: [TCPListener]
    let directory: TemporaryDirectory
    let tasks = TaskContainers()

    init(names: [String: [IPAddress]], listening: [IPAddress]) async throws {
        imds = try await InstanceMetadataEmulator(values: InstanceMetadataEmulator.instance(region: region))
        dns = try await Dnsmasq(names: names)
        listeners = try Set(listening).map { try TCPListener(address: $0, port: probePort) }
        directory = try TemporaryDirectory()
        try directory.write("resolv.conf", "options timeout:1 attempts:1\n")
        try directory.write("hosts", "")
    }

    func settings(_ change: (inout Settings) -> Void = { _ in }) throws -> Settings {
        var settings = Settings()
        settings.imdsEndpoint = imds.endpoint
        settings.resolvConf = directory.file("resolv.conf")
        settings.dnsServers = [HostPort(address: dns.server.address, port: dns.server.port)]
        settings.hostsFile = directory.file("hosts")
        settings.amazonDNS = HostPort(address: dns.server.address, port: dns.server.port)
        settings.endpointCIDRs = [Loopback.sharedCIDR]
        settings.probePort = probePort
        settings.probeTimeout = .milliseconds(700)
        settings.dockerHost = try TestDocker.host()
        settings.agentLog = nil
        change(&settings)
        return settings
    }

    func check(_ change: (inout Settings) -> Void = { _ in }) async throws -> StatusDocument {
        try await Check(environment: ObservationEnvironment(settings: settings(change))).run()
    }

    func stop() async {
        tasks.remove()
        let (listeners, dns) = (listeners, dns)
        await offCooperativePool {
            for listener in listeners { listener.close() }
            dns.stop()
        }
        await imds.stop()
    }
}

/// The ECS names on VPC endpoints, and `related` answered as given; listeners on every address but the dropped.
private func withSandbox(
    _ related: [String: [IPAddress]], _ body: (ServicesSandbox) async throws -> Void
) async throws {
    var names = related
    for name in ecsNames { names[name] = [Loopback.vpc()] }
    let listening = names.values.flatMap { $0 }.filter { !Loopback.droppedCIDR.contains($0) }
    let sandbox = try await ServicesSandbox(names: names, listening: listening)
    do {
        try await body(sandbox)
    } catch {
        await sandbox.stop()
        throw error
    }
    await sandbox.stop()
}

private func service(_ document: StatusDocument, _ name: String) throws -> ServiceReport {
    try #require(document.services?.first { $0.name == name }, "\(name) not in \(document.services?.map(\.name) ?? [])")
}

private func readinessIDs(_ document: StatusDocument) -> [String] {
    let ids: Set<String> = [
        "ecr-no-endpoint", "ecr-dkr-without-s3", "s3-no-route", "ecr-other-region", "images-need-internet",
        "logs-no-endpoint", "logs-other-region", "ecs-exec-no-endpoint", "secrets-no-endpoint",
        "run-command-unreachable", "service-endpoint-not-accepting",
    ]
    return document.findings.map(\.id).filter(ids.contains)
}

/// The Systems Manager set on endpoints: what every `auto` check watches.
private func ssmOnEndpoints() -> [String: [IPAddress]] {
    Dictionary(uniqueKeysWithValues: ssmNames.map { ($0, [Loopback.vpc()]) })
}

/// The task containers live in the run's one dockerd and every `auto` observation lists them: one test at a time.
@Suite("Related endpoints end to end: task containers in the real dockerd, dnsmasq, listeners, the dropped range", .serialized)
struct RelatedServicesTests {
    @Test("auto without task containers watches the Systems Manager set; on endpoints it is ready")
    func autoWithoutTasks() async throws {
        try await withSandbox(ssmOnEndpoints()) { sandbox in
            let document = try await sandbox.check()
            #expect(document.services?.map(\.name) == ssmNames)
            #expect(document.services?.allSatisfy { $0.route == .vpcEndpoint && $0.neededBy == [.runCommand] } == true)
            #expect(document.services?.first?.addresses.first?.tcp == "open")
            #expect(document.readiness == .ready, "\(document.readinessDetail ?? "")")
            #expect(document.findings.isEmpty, "\(document.findings)")
            #expect(document.health == .ok)
        }
    }

    @Test("run-command-unreachable: the Systems Manager names do not resolve; info only, the table shows it")
    func runCommandUnreachable() async throws {
        try await withSandbox([:]) { sandbox in
            let document = try await sandbox.check()
            #expect(document.services?.allSatisfy { $0.route == .unresolved } == true)
            #expect(readinessIDs(document) == ["run-command-unreachable"])
            #expect(document.readiness == .notReady)
            #expect(document.health == .ok)  // info: the instance works today
            let table = StatusTable(color: false, probePort: probePort).render(document)
            #expect(table.contains("readiness not-ready"))
            #expect(table.contains("SERVICE"))
            #expect(table.contains("ssmmessages.\(under)"))
            #expect(table.contains("[run-command-unreachable] Without ssm and ssmmessages endpoints"))
        }
    }

    @Test("ecr-dkr-without-s3: an ECR task, ECR on endpoints, S3's layer bucket in the dropped range")
    func ecrWithoutS3() async throws {
        var related = ssmOnEndpoints()
        related[ecrAPI] = [Loopback.vpc()]
        related[ecrRegistry] = [Loopback.vpc()]
        related[layers] = [Loopback.dropped()]
        try await withSandbox(related) { sandbox in
            try sandbox.tasks.add("web", image: "\(ecrRegistry)/web:1", running: true)
            let document = try await sandbox.check()
            #expect(document.services?.map(\.service) == [.ecrAPI, .ecrDKR, .s3, .ssm, .ssmMessages, .ec2Messages])
            #expect(try service(document, ecrRegistry).route == .vpcEndpoint)
            #expect(try service(document, ecrRegistry).neededBy == [.ecrImages])
            let s3 = try service(document, layers)
            #expect(s3.route == .unreachable)
            #expect(s3.addresses.first?.tcp == "timeout")
            #expect(s3.addresses.first?.class == .public)
            #expect(readinessIDs(document) == ["ecr-dkr-without-s3"])
            let finding = try #require(document.findings.first { $0.id == "ecr-dkr-without-s3" })
            #expect(finding.message.hasPrefix("Image pulls will fail: ECR has an endpoint but S3 has no route"))
            #expect(finding.message.contains("web"))
            #expect(document.health == .warning)
            #expect(document.readiness == .notReady)
        }
    }

    @Test("S3 open on public addresses is a gateway endpoint or NAT; ECR and S3 then ready")
    func s3Gateway() async throws {
        var related = ssmOnEndpoints()
        related[ecrAPI] = [Loopback.vpc()]
        related[ecrRegistry] = [Loopback.shared()]
        related[layers] = [Loopback.publicAddress()]
        try await withSandbox(related) { sandbox in
            try sandbox.tasks.add("web", image: "\(ecrRegistry)/web:1")
            let document = try await sandbox.check()
            #expect(try service(document, layers).route == .gatewayOrNAT)
            #expect(try service(document, ecrRegistry).route == .vpcEndpoint)  // shared from a hub VPC
            #expect(readinessIDs(document).isEmpty, "\(document.findings)")
            #expect(document.readiness == .ready, "\(document.readinessDetail ?? "")")
        }
    }

    @Test("ecr-no-endpoint and s3-no-route: ECR public, S3 dropped")
    func ecrPublic() async throws {
        var related = ssmOnEndpoints()
        related[ecrAPI] = [Loopback.publicAddress()]
        related[ecrRegistry] = [Loopback.publicAddress()]
        related[layers] = [Loopback.dropped()]
        try await withSandbox(related) { sandbox in
            try sandbox.tasks.add("api", image: "\(ecrRegistry)/api:2")
            let document = try await sandbox.check()
            #expect(try service(document, ecrAPI).route == .public)
            #expect(readinessIDs(document) == ["ecr-no-endpoint", "s3-no-route"])
        }
    }

    @Test("awslogs: logs-no-endpoint here, logs-other-region; ecr-other-region; malformed configs and images skipped with a note")
    func awslogs() async throws {
        var related = ssmOnEndpoints()
        related[logs] = [Loopback.publicAddress()]
        try await withSandbox(related) { sandbox in
            try sandbox.tasks.add("app", image: StandinAgent.image, awslogsRegion: .some(region))
            try sandbox.tasks.add("worker", image: StandinAgent.image, awslogsRegion: .some(nil))  // the instance's region
            try sandbox.tasks.add("far", image: StandinAgent.image, awslogsRegion: "eu-west-1")
            try sandbox.tasks.add("odd", image: StandinAgent.image, awslogsRegion: "Mars-1")
            try sandbox.tasks.add("bad", image: "12345.dkr.ecr.\(under)/bad:1")
            try sandbox.tasks.add("copy", image: "\(account).dkr.ecr.eu-west-1.amazonaws.com/copy:1")
            let document = try await sandbox.check()
            #expect(try service(document, logs).route == .public)
            #expect(try service(document, logs).neededBy == [.awslogs])
            #expect(
                Set(readinessIDs(document)) == ["logs-no-endpoint", "logs-other-region", "images-need-internet", "ecr-other-region"]
            )
            #expect(document.findings.first { $0.id == "ecr-other-region" }?.message.contains("copy (eu-west-1)") == true)
            let logsFinding = try #require(document.findings.first { $0.id == "logs-no-endpoint" })
            #expect(logsFinding.message.contains("app, worker"))
            #expect(document.findings.first { $0.id == "logs-other-region" }?.message.contains("far (eu-west-1)") == true)
            let notes = document.servicesNotes ?? []
            #expect(notes.contains { $0.contains("container odd: awslogs-region \"Mars-1\" is not a region") }, "\(notes)")
            #expect(notes.contains { $0.contains("container bad: image") && $0.contains("skipped") }, "\(notes)")
            #expect(notes.contains { $0.contains("secretsmanager") })
            #expect(document.services?.contains { $0.service == .ecrAPI } == false)  // no valid ECR image
        }
    }

    @Test("ECS Exec: the agent's exec mount makes ssmmessages needed; ecs-exec-no-endpoint when it has none")
    func ecsExec() async throws {
        var related = ssmOnEndpoints()
        related["ssmmessages.\(under)"] = [Loopback.publicAddress()]
        try await withSandbox(related) { sandbox in
            try sandbox.tasks.add("shell", image: StandinAgent.image, running: true, exec: true)
            let document = try await sandbox.check()
            let messages = try service(document, "ssmmessages.\(under)")
            #expect(messages.neededBy == [.ecsExec, .runCommand])
            #expect(messages.route == .public)
            #expect(readinessIDs(document) == ["images-need-internet", "ecs-exec-no-endpoint", "run-command-unreachable"])
        }
    }

    @Test("service-endpoint-not-accepting: an ssm endpoint address where 443 is dropped")
    func endpointDropped() async throws {
        var related = ssmOnEndpoints()
        related["ssm.\(under)"] = [IPAddress("127.250.16.9")!]
        try await withSandbox(related) { sandbox in
            let document = try await sandbox.check { $0.endpointCIDRs = [Loopback.sharedCIDR, Loopback.droppedCIDR] }
            #expect(try service(document, "ssm.\(under)").route == .unreachable)
            #expect(readinessIDs(document) == ["service-endpoint-not-accepting", "run-command-unreachable"])
            #expect(document.health == .warning)
        }
    }

    @Test("ECSVPCD_ECR_ACCOUNTS and a list: only what is listed; off: no services, no readiness")
    func selection() async throws {
        let other = "210987654321"
        var related = ssmOnEndpoints()
        related["\(other).dkr.ecr.\(under)"] = [Loopback.vpc()]
        related["secretsmanager.\(under)"] = [Loopback.publicAddress()]
        try await withSandbox(related) { sandbox in
            let listed = try await sandbox.check {
                $0.services = ServiceSelection("ecr.dkr,secretsmanager")!
                $0.ecrAccounts = [other]
            }
            #expect(listed.services?.map(\.name) == ["\(other).dkr.ecr.\(under)", "secretsmanager.\(under)"])
            #expect(readinessIDs(listed) == ["secrets-no-endpoint"])
            #expect(listed.readiness == .notReady)
            let off = try await sandbox.check { $0.services = .off }
            #expect(off.services == nil)
            #expect(off.readiness == nil)
            let json = String(decoding: try StatusDocument.encoder().encode(off), as: UTF8.self)
            #expect(!json.contains("\"services\"") && !json.contains("\"readiness\""))
        }
    }

    @Test("Docker unavailable: the tasks are unknown, readiness unknown while the Systems Manager set is ready")
    func dockerUnavailable() async throws {
        try await withSandbox(ssmOnEndpoints()) { sandbox in
            let document = try await sandbox.check { $0.dockerHost = "unix://\(sandbox.directory.file("no-docker.sock"))" }
            #expect(document.readiness == .unknown)
            #expect(document.servicesNotes?.contains { $0.hasPrefix("task containers unknown:") } == true)
            #expect(document.services?.count == 3)
        }
    }

    @Test("the daemon restarts the agent as usual while the related services are not ready (ECR without S3), and status shows them")
    func neverInTheRestartDecision() async throws {
        let scenario = try await DaemonScenario()
        let tasks = TaskContainers()
        let ecrAddresses = [Loopback.vpc(), Loopback.vpc()]
        let listeners = try ecrAddresses.map { try TCPListener(address: $0, port: DaemonScenario.probePort) }
        defer {
            scenario.stop()
            tasks.remove()
            for listener in listeners { listener.close() }
        }
        try await scenario.dns.set(ecrAPI, [ecrAddresses[0]])
        try await scenario.dns.set(ecrRegistry, [ecrAddresses[1]])
        try await scenario.dns.set(layers, [Loopback.dropped()])
        try tasks.add("web", image: "\(ecrRegistry)/web:1", running: true)
        try scenario.writeConfig(["ECSVPCD_RESTART_WINDOW": "0"])
        try await scenario.waitForAgentConnection(to: scenario.publicAddresses[0])
        try await scenario.startDaemon()
        try await scenario.waitUntil("the daemon reports ecr-dkr-without-s3") {
            scenario.savedStatus()?.findings.contains { $0.id == "ecr-dkr-without-s3" } == true
        }
        #expect(scenario.savedStatus()?.readiness == .notReady)
        #expect(scenario.log.contains("readiness for a subnet without internet access: not-ready"), "\(scenario.log)")
        try await scenario.route(.vpc)
        let record = try await scenario.waitForRestart()
        #expect(record.result == "verified", "\(record)\n\(scenario.log)")
        let (code, document) = try await scenario.status()
        #expect(code == 1)  // the warning of ecr-dkr-without-s3
        #expect(document.services?.first { $0.name == layers }?.route == .unreachable)
        #expect(document.readiness == .notReady)
        let table = try await scenario.command(["status"])
        #expect(table.stdout.contains("readiness not-ready"), "\(table.stdout)")
        #expect(table.stdout.contains(layers))
        #expect(table.stdout.contains("[ecr-dkr-without-s3] Image pulls will fail"))
    }
}
