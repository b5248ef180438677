import ECSVPCCore
import Foundation
import Testing

@testable import ECSVPCD

@Suite("Agent Docker Engine and introspection")
struct AgentDockerEngineTests {
    func engine() throws -> DockerEngine {
        DockerEngine(target: try HTTPTarget(url: try TestDocker.host()))
    }

    @Test("negotiates the lower of the engine's API version and 1.43")
    func negotiates() async throws {
        let version = try #require(try await engine().negotiateVersion())
        #expect(version <= DockerEngine.maxAPIVersion)
        #expect(version >= DockerAPIVersion(major: 1, minor: 24))
    }

    @Test("inspects the running stand-in agent")
    func inspectsRunning() async throws {
        let agent = try StandinAgent()
        defer { agent.remove() }
        let container = try #require(try await engine().inspect(agent.name))
        #expect(container.running)
        #expect(container.pid > 0)
        #expect(container.image == StandinAgent.image)
        #expect(container.id.count == 64)
        #expect(container.restartCount == 0)
        let started = try #require(container.startedAt)
        #expect(abs(started.timeIntervalSinceNow) < 120)
    }

    @Test("a container that does not exist is absent, not an error")
    func absent() async throws {
        #expect(try await engine().inspect("ecsvpcd-test-no-such-container-\(getpid())") == nil)
        await #expect(throws: AgentError.self) { try await engine().restart("ecsvpcd-test-no-such-\(getpid())") }
    }

    @Test("restart gives a new StartedAt and a new pid; start brings a stopped container back")
    func restartAndStart() async throws {
        let docker = try engine()
        let agent = try StandinAgent()
        defer { agent.remove() }
        let before = try #require(try await docker.inspect(agent.name))
        try await docker.restart(agent.name, stopTimeout: 5)
        let after = try #require(try await docker.inspect(agent.name))
        #expect(after.running)
        #expect(after.pid != before.pid)
        #expect(try #require(after.startedAt) > #require(before.startedAt))

        try TestDocker.run(["stop", "-t", "5", agent.name])
        let stopped = try #require(try await docker.inspect(agent.name))
        #expect(!stopped.running)
        #expect(stopped.pid == 0)
        try await docker.start(agent.name)
        #expect(try await docker.inspect(agent.name)?.running == true)
        try await docker.start(agent.name)  // 304 Not Modified is success
    }

    @Test("reads the stand-in's introspection API, version overridable")
    func introspection() async throws {
        let agent = try StandinAgent(environment: ["AGENT_VERSION": "Amazon ECS Agent - v1.24.0 (old)"])
        defer { agent.remove() }
        try await agent.waitUntilServing()
        let metadata = try await AgentIntrospection(target: try HTTPTarget(url: agent.introspectionURL)).metadata()
        #expect(metadata.cluster == "sandbox")
        #expect(metadata.containerInstanceArn?.hasPrefix("arn:aws:ecs:") == true)
        #expect(metadata.version == "Amazon ECS Agent - v1.24.0 (old)")
        #expect(metadata.semanticVersion == AgentVersion(major: 1, minor: 24, patch: 0))
    }

    @Test("introspection that is not listening is unreachable, naming the address")
    func introspectionDown() async throws {
        let server = try await CannedHTTPServer { _ in nil }
        let port = server.port
        await server.close()
        let error = await #expect(throws: AgentError.self) {
            try await AgentIntrospection(target: .tcp(host: "127.0.0.1", port: port)).metadata()
        }
        #expect(error?.code == .unreachable)
        #expect(error?.message.contains("127.0.0.1:\(port)") == true)
    }

    @Test("garbage from the engine or the agent is an error that says what was wrong")
    func garbage() async throws {
        let server = try await CannedHTTPServer { request in
            if request.hasPrefix("GET /version") { return httpReply("200 OK", #"{"Version":"ancient"}"#) }
            if request.hasPrefix("GET /containers/unversioned/json") { return httpReply("200 OK", Self.inspectJSON) }
            if request.hasPrefix("GET /containers/nostate/json") { return httpReply("200 OK", #"{"Id":"abc"}"#) }
            if request.hasPrefix("GET /containers/html/json") { return httpReply("200 OK", "<html>") }
            if request.hasPrefix("POST /containers/broken/restart") {
                return httpReply("500 Internal Server Error", #"{"message":"cannot kill container: permission denied"}"#)
            }
            if request.hasPrefix("GET /v1/metadata") { return httpReply("200 OK", #"{"Cluster": 7}"#) }
            return httpReply("404 Not Found", #"{"message":"page not found"}"#)
        }
        defer { Task { await server.close() } }
        let docker = DockerEngine(target: .tcp(host: "127.0.0.1", port: server.port))
        #expect(try await docker.negotiateVersion() == nil)
        let container = try #require(try await docker.inspect("unversioned"))
        #expect(container.pid == 4242)
        #expect(server.received.contains { $0.hasPrefix("GET /containers/unversioned/json HTTP/1.1") })

        let noState = await #expect(throws: AgentError.self) { try await docker.inspect("nostate") }
        #expect(noState?.code == .unexpectedReply)
        #expect(noState?.message.contains("State is missing") == true)
        let html = await #expect(throws: AgentError.self) { try await docker.inspect("html") }
        #expect(html?.message.contains("not valid JSON") == true)
        let refused = await #expect(throws: AgentError.self) { try await docker.restart("broken") }
        #expect(refused?.code == .refused)
        #expect(refused?.message.contains("permission denied") == true)
        let metadata = await #expect(throws: AgentError.self) {
            try await AgentIntrospection(target: .tcp(host: "127.0.0.1", port: server.port)).metadata()
        }
        #expect(metadata?.message.contains("Cluster has the wrong type") == true)
    }

    @Test("an engine that needs a newer API than this client speaks is refused")
    func tooNew() async throws {
        let server = try await CannedHTTPServer { _ in httpReply("200 OK", #"{"ApiVersion":"2.10","MinAPIVersion":"2.0"}"#) }
        defer { Task { await server.close() } }
        let error = await #expect(throws: AgentError.self) {
            try await DockerEngine(target: .tcp(host: "127.0.0.1", port: server.port)).inspect("ecs-agent")
        }
        #expect(error?.code == .unsupportedVersion)
    }

    @Test("StartedAt keeps nanoseconds and offsets; the zero time means never started")
    func startedAt() throws {
        #expect(RFC3339.date("1970-01-01T00:00:01Z") == Date(timeIntervalSince1970: 1))
        let precise = try #require(RFC3339.date("2024-05-01T10:20:30.123456789Z"))
        #expect(abs(precise.timeIntervalSince1970 - 1_714_558_830.123456789) < 1e-6)
        #expect(RFC3339.date("2024-05-01T12:20:30+02:00") == RFC3339.date("2024-05-01T10:20:30Z"))
        #expect(RFC3339.date("2024-02-29T00:00:00Z") == Date(timeIntervalSince1970: 1_709_164_800))
        for bad in ["", "2024-05-01", "2024-05-01T10:20:30", "2024-13-01T10:20:30Z", "2024-05-01T10:20:30.Z"] {
            #expect(RFC3339.date(bad) == nil, "\(bad)")
        }
        let body = Array(Self.inspectJSON.replacingOccurrences(of: "2024-05-01T10:20:30.5Z", with: "0001-01-01T00:00:00Z").utf8)
        #expect(try DockerEngine.container(fromInspect: body, context: "test").startedAt == nil)
    }

    static let inspectJSON = """
        {"Id":"0123abcd","RestartCount":2,"State":{"Running":true,"Pid":4242,"StartedAt":"2024-05-01T10:20:30.5Z"},
         "Config":{"Image":"amazon/amazon-ecs-agent:latest"}}
        """
}

@Suite("Docker Engine API version, against a canned engine")
struct DockerVersionNegotiationTests {
    /// An engine on a unix socket in `dir` whose /version gives `version`; `reply` answers other requests first
    /// (nil: on to the default), every other request is 404 No such container.
    static func cannedEngine(
        in dir: TemporaryDirectory, version: String, reply: @escaping @Sendable (String) -> [UInt8]? = { _ in nil }
    ) async throws -> CannedHTTPServer {
        try await CannedHTTPServer(unixPath: dir.file("docker.sock")) { request in
            if request.hasPrefix("GET /version ") { return httpReply("200 OK", version) }
            return reply(request) ?? httpReply("404 Not Found", #"{"message":"No such container"}"#)
        }
    }

    @Test("an engine that dropped the older 1.x versions (Docker 29: 1.44 and up) is spoken to at its minimum")
    func newerMinimum() async throws {
        let dir = try TemporaryDirectory()
        let server = try await Self.cannedEngine(in: dir, version: #"{"ApiVersion":"1.52","MinAPIVersion":"1.44"}"#)
        defer { Task { await server.close() } }
        let engine = DockerEngine(target: .unix(path: dir.file("docker.sock")))
        #expect(try await engine.negotiateVersion() == DockerAPIVersion(major: 1, minor: 44))
        #expect(try await engine.inspect("ecs-agent") == nil)
        #expect(server.received.contains { $0.hasPrefix("GET /v1.44/containers/ecs-agent/json ") }, "\(server.received)")
    }

    @Test("negotiates the API version once, and again after a failed call")
    func negotiatesOnce() async throws {
        let dir = try TemporaryDirectory()
        let server = try await Self.cannedEngine(in: dir, version: #"{"ApiVersion":"1.45","MinAPIVersion":"1.24"}"#) { request in
            request.hasPrefix("GET /v1.43/containers/broken/json ")
                ? httpReply("500 Internal Server Error", #"{"message":"boom"}"#) : nil
        }
        defer { Task { await server.close() } }
        let engine = DockerEngine(target: .unix(path: dir.file("docker.sock")))
        let versionRequests = { server.received.filter { $0.hasPrefix("GET /version ") }.count }

        #expect(try await engine.inspect("gone") == nil)
        #expect(try await engine.inspect("gone") == nil)
        #expect(versionRequests() == 1)
        await #expect(throws: AgentError.self) { try await engine.inspect("broken") }
        #expect(try await engine.inspect("gone") == nil)
        #expect(versionRequests() == 2)
        #expect(server.received.filter { $0.hasPrefix("GET /v1.43/containers/gone/json ") }.count == 3)
    }
}
