import ECSVPCCore
import FoundationEssentials
import Glibc

/// The agent's introspection API (`ECSVPCD_AGENT_INTROSPECTION`, by default http://127.0.0.1:51678).
public struct AgentIntrospection: Sendable {
    public var target: HTTPTarget
    public var client: HTTPClient
    public var timeout: Duration

    public init(target: HTTPTarget, client: HTTPClient = HTTPClient(), timeout: Duration = .seconds(3)) {
        self.target = target
        self.client = client
        self.timeout = timeout
    }

    /// `GET /v1/metadata`: cluster, container instance ARN and version line.
    public func metadata() async throws(AgentError) -> AgentMetadata {
        let response: HTTPResponse
        do {
            response = try await client.send("GET", target, path: "/v1/metadata", timeout: timeout)
        } catch {
            throw AgentError(.unreachable, "agent introspection \(error)")
        }
        guard response.status == 200 else {
            let text = response.bodyText.trimmingWhitespace().prefix(200)
            throw AgentError(.unexpectedReply, "agent introspection \(target): GET /v1/metadata: HTTP \(response.status) \(text)")
        }
        do {
            return try Self.metadata(fromJSON: response.body)
        } catch {
            throw AgentError(
                .unexpectedReply,
                "agent introspection \(target): GET /v1/metadata: not the JSON expected: \(DockerEngine.explain(error))"
            )
        }
    }

    /// The fields of a `/v1/metadata` reply that matter here.
    static func metadata(fromJSON body: [UInt8]) throws -> AgentMetadata {
        struct Metadata: Decodable {
            var Cluster: String?
            var ContainerInstanceArn: String?
            var Version: String?
        }
        let metadata = try JSONDecoder().decode(Metadata.self, from: Data(body))
        return AgentMetadata(cluster: metadata.Cluster, containerInstanceArn: metadata.ContainerInstanceArn, version: metadata.Version)
    }
}
