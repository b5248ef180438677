import ECSVPCCore
import FoundationEssentials
import Glibc
import Synchronization

/// The few Docker Engine API calls ecsvpcd needs: inspect, restart and start one container.
///
/// The API version is negotiated with `GET /version`: the lower of the engine's `ApiVersion` and
/// `maxAPIVersion`, raised to the engine's `MinAPIVersion` when that is higher; an engine whose `/version` lacks
/// `ApiVersion` is spoken to with unversioned paths. The version is kept until a call fails (the engine may have
/// been replaced by another version), so a daemon cycle's inspect is one request, not two.
public struct DockerEngine: Sendable {
    /// The newest API version this client asks for (its replies checked against). An engine that no longer
    /// serves it (Docker 29: 1.44 and up) is spoken to at its own minimum within 1.x: the few fields and calls
    /// used (inspect's Id, State.Running, Pid, StartedAt; restart; start) have not changed since 1.24.
    public static let maxAPIVersion = DockerAPIVersion(major: 1, minor: 43)

    public var target: HTTPTarget
    public var client: HTTPClient
    public var timeout: Duration
    private let negotiated = NegotiatedVersion()

    public init(target: HTTPTarget, client: HTTPClient = HTTPClient(), timeout: Duration = .seconds(10)) {
        self.target = target
        self.client = client
        self.timeout = timeout
    }

    /// The version to use in paths, or nil for unversioned paths.
    public func negotiateVersion() async throws(AgentError) -> DockerAPIVersion? {
        let response = try await call("GET", "/version", timeout: timeout)
        guard response.status == 200 else { throw unexpected("GET /version", response) }
        return try Self.negotiated(fromVersionReply: response.body, context: "\(target): GET /version")
    }

    /// The version to speak, from the engine's `/version` reply (`context` names the request in errors).
    static func negotiated(fromVersionReply body: [UInt8], context: String) throws(AgentError) -> DockerAPIVersion? {
        struct Version: Decodable {
            var ApiVersion: String?
            var MinAPIVersion: String?
        }
        let version: Version
        do {
            version = try JSONDecoder().decode(Version.self, from: Data(body))
        } catch {
            throw AgentError(.unexpectedReply, "\(context): not the JSON expected: \(Self.explain(error))")
        }
        guard let apiText = version.ApiVersion else { return nil }
        guard let server = DockerAPIVersion(apiText) else {
            throw AgentError(.unexpectedReply, "\(context): ApiVersion \"\(apiText)\" is not a version")
        }
        var chosen = min(server, Self.maxAPIVersion)
        if let minText = version.MinAPIVersion, let minimum = DockerAPIVersion(minText), chosen < minimum {
            // A newer engine that dropped the older versions (Docker 29 serves 1.44 and up): the few fields and
            // calls used here (inspect's Id, State, Pid, StartedAt; restart; start) are the same there, so its
            // minimum is spoken rather than nothing.
            guard minimum <= server, minimum.major == Self.maxAPIVersion.major else {
                throw AgentError(
                    .unsupportedVersion,
                    "\(context): the engine needs API \(minimum) or newer; this client speaks up to \(Self.maxAPIVersion)"
                        + " within \(Self.maxAPIVersion.major).x"
                )
            }
            chosen = minimum
        }
        return chosen
    }

    /// The container by name or id, or nil when the engine does not know it.
    public func inspect(_ name: String) async throws(AgentError) -> AgentContainer? {
        try await inspectWithSetup(name)?.container
    }

    /// The container and what it was created with (its setup), or nil when the engine does not know it.
    public func inspectWithSetup(_ name: String) async throws(AgentError) -> (container: AgentContainer, setup: ContainerSetup)? {
        let path = try await versioned("/containers/\(escape(name))/json")
        let response = try await call("GET", path, timeout: timeout)
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw unexpected("GET \(path)", response) }
        return try Self.inspected(fromInspect: response.body, context: "\(target): GET \(path)")
    }

    /// Restarts the container in one engine call (stop with `stopTimeout` seconds of grace, then start).
    public func restart(_ name: String, stopTimeout: Int = 30) async throws(AgentError) {
        let path = try await versioned("/containers/\(escape(name))/restart?t=\(stopTimeout)")
        let response = try await call("POST", path, timeout: timeout + .seconds(stopTimeout))
        try expectDone(response, "POST \(path)")
    }

    /// Starts the container; already running is fine.
    public func start(_ name: String) async throws(AgentError) {
        let path = try await versioned("/containers/\(escape(name))/start")
        let response = try await call("POST", path, timeout: timeout)
        try expectDone(response, "POST \(path)")
    }

    /// Reads the fields of `GET /containers/NAME/json` that matter here.
    static func container(fromInspect body: [UInt8], context: String) throws(AgentError) -> AgentContainer {
        try inspected(fromInspect: body, context: context).container
    }

    /// The container and its setup. The setup's fields are all optional in the reply: an engine that leaves one out
    /// (or sends null) gives an empty setup there, never a failed inspect.
    static func inspected(
        fromInspect body: [UInt8], context: String
    ) throws(AgentError) -> (container: AgentContainer, setup: ContainerSetup) {
        struct Inspect: Decodable {
            struct State: Decodable {
                var Running: Bool
                var Pid: Int32
                var StartedAt: String?
            }
            struct Config: Decodable {
                var Image: String?
                var Env: [String]?
                var Labels: [String: String]?
                var Tty: Bool?
            }
            struct HostConfig: Decodable { var NetworkMode: String? }
            struct Mount: Decodable {
                var Source: String?
                var Destination: String?
            }
            var Id: String
            var Name: String?
            var State: State
            var Config: Config?
            var HostConfig: HostConfig?
            var Mounts: [Mount]?
            var RestartCount: Int?
        }
        let inspect: Inspect
        do {
            inspect = try JSONDecoder().decode(Inspect.self, from: Data(body))
        } catch {
            throw AgentError(.unexpectedReply, "\(context): not the container JSON expected: \(Self.explain(error))")
        }
        var started: Date?
        if let text = inspect.State.StartedAt, !text.hasPrefix("0001-01-01") {
            guard let date = RFC3339.date(text) else {
                throw AgentError(.unexpectedReply, "\(context): State.StartedAt \"\(text)\" is not an RFC 3339 time")
            }
            started = date
        }
        let container = AgentContainer(
            id: inspect.Id,
            running: inspect.State.Running,
            pid: inspect.State.Running ? inspect.State.Pid : 0,
            startedAt: started,
            image: inspect.Config?.Image ?? "",
            restartCount: inspect.RestartCount ?? 0
        )
        let setup = ContainerSetup(
            name: String((inspect.Name ?? "").drop { $0 == "/" }),
            image: inspect.Config?.Image ?? "",
            environmentNames: Set((inspect.Config?.Env ?? []).map { String($0.prefix { $0 != "=" }) }),
            mounts: (inspect.Mounts ?? []).compactMap { mount in
                guard let destination = mount.Destination else { return nil }
                return ContainerSetup.Mount(source: mount.Source ?? "", destination: destination)
            },
            networkMode: inspect.HostConfig?.NetworkMode ?? "",
            labels: inspect.Config?.Labels ?? [:],
            tty: inspect.Config?.Tty ?? false
        )
        return (container, setup)
    }

    /// `path` under the negotiated API version, negotiated once and again after a failed call.
    func versioned(_ path: String) async throws(AgentError) -> String {
        let version: DockerAPIVersion?
        if let known = negotiated.value {
            version = known
        } else {
            version = try await negotiateVersion()
            negotiated.value = .some(version)
        }
        guard let version else { return path }
        return "/v\(version)\(path)"
    }

    /// One request to the engine; a failure or an error status forgets the negotiated API version (the engine may
    /// have been replaced), so the next request negotiates again.
    func call(_ method: String, _ path: String, timeout: Duration) async throws(AgentError) -> HTTPResponse {
        do {
            let response = try await client.send(
                method, target, path: path, headers: [("Accept", "application/json")], timeout: timeout
            )
            if response.status >= 400 && response.status != 404 { negotiated.value = nil }
            return response
        } catch {
            negotiated.value = nil
            throw AgentError(.unreachable, "Docker Engine \(error)")
        }
    }

    private func expectDone(_ response: HTTPResponse, _ request: String) throws(AgentError) {
        switch response.status {
        case 204, 304: return
        case 404: throw AgentError(.noSuchContainer, "\(target): \(request): \(Self.engineMessage(response))")
        case 500...599: throw AgentError(.refused, "\(target): \(request): \(Self.engineMessage(response))")
        default: throw unexpected(request, response)
        }
    }

    private func unexpected(_ request: String, _ response: HTTPResponse) -> AgentError {
        AgentError(.unexpectedReply, "\(target): \(request): HTTP \(response.status): \(Self.engineMessage(response))")
    }

    /// The engine's `{"message": …}`, or the start of the body.
    private static func engineMessage(_ response: HTTPResponse) -> String {
        struct Message: Decodable { var message: String }
        if let message = try? JSONDecoder().decode(Message.self, from: Data(response.body)) { return message.message }
        let text = response.bodyText.trimmingWhitespace()
        return text.isEmpty ? "(empty body)" : String(text.prefix(200))
    }

    static func explain(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func at(_ path: [any CodingKey]) -> String {
            path.isEmpty ? "the top level" : path.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(at(context.codingPath + [key])) is missing"
        case .typeMismatch(_, let context): return "\(at(context.codingPath)) has the wrong type"
        case .valueNotFound(_, let context): return "\(at(context.codingPath)) is null"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "\(at(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    private func escape(_ name: String) -> String {
        var escaped = ""
        for byte in name.utf8 {
            let scalar = Unicode.Scalar(byte)
            if byte < 0x80, scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "-_.".unicodeScalars.contains(scalar) {
                escaped.unicodeScalars.append(scalar)
            } else {
                escaped += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return escaped
    }
}

/// What a container was created with, as its inspect tells it: enough to tell the agent container ecs-init made
/// from one started by hand. Only the names of its environment are kept: `ecs.config` values (credentials among
/// them) reach the agent's environment, and none of them is needed here.
public struct ContainerSetup: Hashable, Sendable {
    /// A bind mount or volume: the host path (empty for a volume the engine made) and the path inside.
    public struct Mount: Hashable, Sendable {
        public var source: String
        public var destination: String

        public init(source: String, destination: String) {
            self.source = source
            self.destination = destination
        }
    }

    /// The container's name without the engine's leading `/`.
    public var name: String
    public var image: String
    public var environmentNames: Set<String>
    public var mounts: [Mount]
    public var networkMode: String
    public var labels: [String: String]
    /// `Config.Tty`: a TTY container's log has no stream framing.
    public var tty: Bool

    public init(
        name: String, image: String, environmentNames: Set<String>, mounts: [Mount], networkMode: String,
        labels: [String: String] = [:], tty: Bool = false
    ) {
        self.tty = tty
        self.name = name
        self.image = image
        self.environmentNames = environmentNames
        self.mounts = mounts
        self.networkMode = networkMode
        self.labels = labels
    }
}

/// A Docker Engine API version such as 1.43.
public struct DockerAPIVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]), major >= 0, minor >= 0 else {
            return nil
        }
        self.init(major: major, minor: minor)
    }

    public var description: String { "\(major).\(minor)" }

    public static func < (lhs: DockerAPIVersion, rhs: DockerAPIVersion) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }
}

/// RFC 3339 times as Docker writes them (`2024-05-01T10:20:30.123456789Z`, or with an offset).
enum RFC3339 {
    static func date(_ text: String) -> Date? { TimeText.rfc3339(text) }
}

/// The API version a `DockerEngine` negotiated (`.some(nil)`: unversioned paths), shared by its copies.
private final class NegotiatedVersion: Sendable {
    private let stored = Mutex<DockerAPIVersion??>(nil)

    var value: DockerAPIVersion?? {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}
