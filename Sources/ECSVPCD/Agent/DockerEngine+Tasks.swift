import ECSVPCCore
import FoundationEssentials

extension DockerEngine {
    /// The label the ECS agent puts on every task container it creates, with the task's ARN
    /// (aws/amazon-ecs-agent agent/engine/docker_task_engine.go: `labelTaskARN = labelPrefix + "task-arn"`, set in
    /// createContainer next to `com.amazonaws.ecs.container-name`, `…task-definition-family`, `…cluster`).
    public static let taskARNLabel = "com.amazonaws.ecs.task-arn"
    public static let containerNameLabel = "com.amazonaws.ecs.container-name"

    /// The ids of the task containers that run or are created and about to run (the agent creates every container
    /// of a task before it starts them): `GET /containers/json` filtered on the agent's task label.
    public func taskContainerIDs() async throws(AgentError) -> [String] {
        // {"label":["com.amazonaws.ecs.task-arn"],"status":["created","running"]}, percent-encoded.
        let filters = "%7B%22label%22%3A%5B%22com.amazonaws.ecs.task-arn%22%5D%2C%22status%22%3A%5B%22created%22%2C%22running%22%5D%7D"
        let path = try await versioned("/containers/json?filters=" + filters)
        let reply = try await call("GET", path, timeout: timeout)
        guard reply.status == 200 else {
            throw AgentError(.unexpectedReply, "\(target): GET \(path): HTTP \(reply.status): \(reply.bodyText.prefix(200))")
        }
        struct Listed: Decodable { var Id: String }
        do {
            return try JSONDecoder().decode([Listed].self, from: Data(reply.body)).map(\.Id)
        } catch {
            throw AgentError(.unexpectedReply, "\(target): GET \(path): not the container list expected: \(Self.explain(error))")
        }
    }

    /// One task container's image, log configuration and ECS Exec mounts, from its inspect; nil when it is gone.
    public func inspectTaskContainer(_ id: String) async throws(AgentError) -> TaskContainer? {
        let path = try await versioned("/containers/\(Self.pathComponent(id))/json")
        let reply = try await call("GET", path, timeout: timeout)
        if reply.status == 404 { return nil }
        guard reply.status == 200 else {
            throw AgentError(.unexpectedReply, "\(target): GET \(path): HTTP \(reply.status): \(reply.bodyText.prefix(200))")
        }
        return try Self.taskContainer(fromInspect: reply.body, context: "\(target): GET \(path)")
    }

    /// Reads a task container's inspect. Only the awslogs options that choose where logs go are kept: other
    /// options (and the environment, where the agent puts secret values) are never read into memory.
    static func taskContainer(fromInspect body: [UInt8], context: String) throws(AgentError) -> TaskContainer {
        struct Inspect: Decodable {
            struct Config: Decodable {
                var Image: String?
                var Labels: [String: String]?
            }
            struct LogConfig: Decodable {
                struct Options: Decodable {
                    var region: String?
                    var endpoint: String?
                    enum CodingKeys: String, CodingKey {
                        case region = "awslogs-region"
                        case endpoint = "awslogs-endpoint"
                    }
                }
                var `Type`: String?
                var Config: Options?
            }
            struct HostConfig: Decodable { var LogConfig: LogConfig? }
            struct Mount: Decodable {
                var Source: String?
                var Destination: String?
            }
            var Id: String
            var Name: String?
            var Config: Config?
            var HostConfig: HostConfig?
            var Mounts: [Mount]?
        }
        let inspect: Inspect
        do {
            inspect = try JSONDecoder().decode(Inspect.self, from: Data(body))
        } catch {
            throw AgentError(.unexpectedReply, "\(context): not the container JSON expected: \(Self.explain(error))")
        }
        let labels = inspect.Config?.Labels ?? [:]
        let log = inspect.HostConfig?.LogConfig
        // ECS Exec: the agent bind-mounts its managed SSM agent from /var/lib/ecs/deps/execute-command
        // (agent/engine/execcmd/manager_linux.go, hostExecDepsDir) to /ecs-execute-command-UUID in the container
        // (agent/engine/execcmd/manager_init_task_linux.go, ContainerDepsDirPrefix, addRequiredBindMounts).
        let exec = (inspect.Mounts ?? []).contains { mount in
            mount.Destination?.hasPrefix("/ecs-execute-command-") == true
                || mount.Source?.hasPrefix("/var/lib/ecs/deps/execute-command/") == true
        }
        return TaskContainer(
            id: inspect.Id,
            name: labels[containerNameLabel] ?? String((inspect.Name ?? inspect.Id).drop { $0 == "/" }),
            taskARN: labels[taskARNLabel] ?? "",
            image: inspect.Config?.Image ?? "",
            logDriver: log?.Type ?? "",
            awslogsRegion: log?.Config?.region,
            awslogsEndpoint: log?.Config?.endpoint,
            execEnabled: exec
        )
    }
}
