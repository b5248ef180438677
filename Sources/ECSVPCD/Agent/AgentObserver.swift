import ECSVPCCore
import FoundationEssentials
import Logging
import NIOPosix
import Synchronization

/// One look at the agent: its container, introspection, settings files, live connections and restart path.
public struct AgentObserver: AgentObserving {
    public var container: String
    public var docker: DockerEngine
    public var introspection: AgentIntrospection
    public var settings: AgentSettingsReader
    public var connections: AgentConnectionsReader
    /// The port whose connections count (`ECSVPCD_PROBE_PORT`, 443).
    public var probePort: Int
    public var supervisor: any AgentSupervising
    public var logger: Logger
    /// The agent's log (`ECSVPCD_AGENT_LOG`), read incrementally; nil: not read.
    public var agentLog: AgentLogReader?
    /// Instance metadata, for the user data the agent reads its `ECSAgentConfiguration` from; nil: not asked.
    public var metadata: InstanceMetadataClient?
    private let userData = UserDataCache()
    private let introspected = IntrospectionCache()
    private let containerLogCursor = ContainerLogCursor()
    private let logProblems = RepeatSuppressor()
    private let restartPaths = RestartPathCache()
    private let settingsProblems = RepeatSuppressor()

    public init(
        container: String = "ecs-agent",
        docker: DockerEngine,
        introspection: AgentIntrospection,
        settings: AgentSettingsReader = AgentSettingsReader(),
        connections: AgentConnectionsReader = AgentConnectionsReader(),
        probePort: Int = 443,
        supervisor: any AgentSupervising,
        logger: Logger,
        agentLog: AgentLogReader? = nil,
        metadata: InstanceMetadataClient? = nil
    ) {
        self.agentLog = agentLog
        self.metadata = metadata
        self.container = container
        self.docker = docker
        self.introspection = introspection
        self.settings = settings
        self.connections = connections
        self.probePort = probePort
        self.supervisor = supervisor
        self.logger = logger
    }

    public func observe() async -> AgentObservation {
        // With its setup: the log fallback needs its Config.Tty, and need not inspect it again.
        async let inspected = result { () async throws(AgentError) in try await docker.inspectWithSetup(container) }
        async let path = restartPaths.current { await supervisor.restartPath() }
        let (settingsRead, problems) = settings.read(userData: await userData.text(from: metadata))
        // Logged when they appear or change (and once when they are gone), not on every observation.
        if settingsProblems.isNew(problems.isEmpty ? nil : problems.map { "\($0)" }.joined(separator: "\n")) {
            let files = settings.paths.joined(separator: ",")
            if problems.isEmpty { logger.notice("agent settings: no problem any more", metadata: ["files": "\(files)"]) }
            for problem in problems { logger.warning("agent settings: \(problem)", metadata: ["files": "\(files)"]) }
        }
        let inspection = await inspected
        let containerResult = inspection.map { $0?.container }
        var sockets = AgentSockets.unknown("the agent container could not be inspected")
        var metadata: AgentMetadata?
        var metadataError: String? = "not asked: the agent container could not be inspected"
        switch containerResult {
        case .success(let found?) where found.running && found.pid > 0:
            // /proc/net/tcp of a busy host can be long: read on the blocking thread, not the event loop.
            let (reader, pid, port) = (connections, found.pid, probePort)
            sockets = await offload { reader.sockets(mainPid: pid, remotePort: port) }
            switch await introspect(found) {
            case .success(let answer): (metadata, metadataError) = (answer, nil)
            case .failure(let error): metadataError = "\(error)"
            }
        case .success(.some):
            sockets = .unknown("the agent container \(container) is not running")
            metadataError = "not asked: the agent container \(container) is not running"
        case .success(nil):
            sockets = .unknown("there is no container \(container)")
            metadataError = "not asked: there is no container \(container)"
        case .failure:
            break
        }
        let (restartPath, restartDetail) = await path
        let (log, logDetail) = await readLog(
            container: try? containerResult.get(), tty: (try? inspection.get())??.setup.tty
        )
        return AgentObservation(
            container: try? containerResult.get(),
            containerError: containerResult.failureDescription,
            metadata: metadata,
            metadataError: metadataError,
            settings: settingsRead,
            sockets: sockets,
            supervisor: restartPath,
            supervisorDetail: restartDetail,
            log: log,
            logDetail: logDetail
        )
    }

    /// The agent's log file read on from where the last cycle stopped; where there is none (not an ECS-optimized
    /// AMI), the container's log through the Docker Engine, from the last second read on. An unreadable log is a
    /// note (logged when it starts or changes), never a reason to restart.
    private func readLog(container found: AgentContainer?, tty: Bool?) async -> (AgentLogSummary?, String?) {
        guard let agentLog else { return (nil, "not read (ECSVPCD_AGENT_LOG=off)") }
        let update = await offload { () -> Result<AgentLogStatus, AgentLogError> in
            do throws(AgentLogError) { return .success(try agentLog.update()) } catch { return .failure(error) }
        }
        var summary: AgentLogSummary?
        var detail: String
        var problem: String?
        switch update {
        case .success(.present(let read)):
            summary = read
            detail = "from \(agentLog.path)"
            if let first = agentLog.firstUnparsed { detail += "; lines not in the agent's format, the first at \(first)" }
        case .success(.missing):
            if let found, found.running {
                let since = containerLogCursor.since(startedAt: found.startedAt)
                let read = await result { () async throws(AgentError) in try await docker.logs(container, tty: tty, since: since) }
                switch read {
                case .success(let bytes):
                    containerLogCursor.advance(startedAt: found.startedAt)
                    summary = agentLog.add(containerLog: bytes, source: "container \(container)")
                    detail = "from the container \(container)'s log (\(agentLog.path) does not exist)"
                case .failure(let error):
                    summary = agentLog.summary.linesRead > 0 ? agentLog.summary : nil
                    detail = "\(agentLog.path) does not exist and the container's log cannot be read: \(error)"
                    problem = detail
                }
            } else {
                summary = agentLog.summary.linesRead > 0 ? agentLog.summary : nil
                detail = "\(agentLog.path) does not exist and the agent container is not running"
            }
        case .failure(let error):
            summary = agentLog.summary.linesRead > 0 ? agentLog.summary : nil
            detail = "cannot read the agent's log: \(error)"
            problem = detail
        }
        if logProblems.isNew(problem) {
            if let problem {
                logger.warning("agent log: \(problem)", metadata: ["path": "\(agentLog.path)"])
            } else {
                logger.notice("agent log: \(detail)", metadata: ["path": "\(agentLog.path)"])
            }
        }
        return (summary, detail)
    }

    /// The agent answers introspection only while its container runs, and its answer (version, cluster, instance
    /// ARN) changes only when the container restarts: it is asked once per container start, again after a failure.
    private func introspect(_ running: AgentContainer) async -> Result<AgentMetadata, AgentError> {
        let start = RunningAgent(id: running.id, startedAt: running.startedAt)
        if let known = introspected.answer(for: start) { return .success(known) }
        let answer = await result { () async throws(AgentError) in try await introspection.metadata() }
        if case .success(let metadata) = answer { introspected.remember(metadata, for: start) }
        return answer
    }

    private func offload<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        (try? await NIOThreadPool.singleton.runIfActive(body)) ?? body()
    }

    private func result<T: Sendable>(_ body: () async throws(AgentError) -> T) async -> Result<T, AgentError> {
        do throws(AgentError) {
            return .success(try await body())
        } catch {
            return .failure(error)
        }
    }

}

extension Result {
    fileprivate var failureDescription: String? {
        if case .failure(let error) = self { return "\(error)" }
        return nil
    }
}

/// The instance's user data, asked once per observer (a start or a reload): the agent reads it only at its own
/// start. A failure is asked again next cycle; an instance without user data (404) is remembered as such.
private final class UserDataCache: Sendable {
    private let stored = Mutex<(fetched: Bool, text: String?)>((false, nil))

    func text(from metadata: InstanceMetadataClient?) async -> String? {
        guard let metadata else { return nil }
        let known = stored.withLock { $0 }
        if known.fetched { return known.text }
        do throws(InstanceMetadataClient.Failure) {
            let text = try await InstanceUserData.fetch(from: metadata)
            stored.withLock { $0 = (true, text) }
            return text
        } catch {
            return nil
        }
    }
}

/// Where the container's log was last read to (whole seconds, as the Engine's `since` takes), per container start.
private final class ContainerLogCursor: Sendable {
    private let stored = Mutex<(startedAt: Date?, next: Int)?>(nil)

    /// The `since` of the next read: the start of the container, or where the last read ended.
    func since(startedAt: Date?) -> Int? {
        stored.withLock { value in
            guard let value, value.startedAt == startedAt else {
                return startedAt.map { Int($0.timeIntervalSince1970) }
            }
            return value.next
        }
    }

    /// A read succeeded: the next starts at this second (a line of this second may come twice; only counts move).
    func advance(startedAt: Date?) {
        let now = Int(Date().timeIntervalSince1970)
        stored.withLock { $0 = (startedAt, now) }
    }
}

/// One start of the agent's container.
private struct RunningAgent: Equatable, Sendable {
    var id: String
    var startedAt: Date?
}

/// The introspection answer of the container start it came from, shared by an observer's copies.
private final class IntrospectionCache: Sendable {
    private let stored = Mutex<(start: RunningAgent, metadata: AgentMetadata)?>(nil)

    func answer(for start: RunningAgent) -> AgentMetadata? {
        stored.withLock { $0?.start == start ? $0?.metadata : nil }
    }

    func remember(_ metadata: AgentMetadata, for start: RunningAgent) {
        stored.withLock { $0 = (start, metadata) }
    }
}

/// The restart path as last asked (a D-Bus round trip to systemd), kept for a minute: it changes when ecs-init is
/// installed or its unit stopped, not from one cycle to the next. A restart asks afresh before it acts.
private final class RestartPathCache: Sendable {
    static let maxAge = Duration.seconds(60)
    private let stored = Mutex<(at: ContinuousClock.Instant, path: RestartPath?, detail: String)?>(nil)

    func current(_ ask: () async -> (RestartPath?, String)) async -> (RestartPath?, String) {
        let now = ContinuousClock.now
        if let known = stored.withLock({ $0 }), now - known.at < Self.maxAge { return (known.path, known.detail) }
        let (path, detail) = await ask()
        stored.withLock { $0 = (now, path, detail) }
        return (path, detail)
    }
}
