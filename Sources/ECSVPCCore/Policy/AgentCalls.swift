/// The ECS endpoint a call of the agent goes through: each has its own endpoint policy.
public enum ECSEndpoint: String, Sendable, CaseIterable, Codable {
    case ecs
    case ecsAgent = "ecs-agent"
    case ecsTelemetry = "ecs-telemetry"
}

/// What a call acts on, as IAM sees it: an ARN of the ECS resource type the Service Authorization Reference lists
/// for the action, or nothing (`*`) for actions without resource-level permissions.
public enum AgentCallResource: Sendable, Equatable {
    /// The action takes no resource: only a `Resource` of `*` covers it.
    case none
    case cluster
    case containerInstance
    case task

    /// The ARN with the parts known from the options, `{…}` for the rest.
    func arnTemplate() -> [ARNPart] {
        let prefix: [ARNPart] = [.literal("arn:"), .partition, .literal(":ecs:"), .region, .literal(":"), .account, .literal(":")]
        switch self {
        case .none: return [.literal("*")]
        case .cluster: return prefix + [.literal("cluster/"), .cluster]
        case .containerInstance: return prefix + [.literal("container-instance/"), .cluster, .literal("/"), .unknownID]
        case .task: return prefix + [.literal("task/"), .cluster, .literal("/"), .unknownID]
        }
    }
}

enum ARNPart: Sendable, Equatable {
    case literal(String)
    case partition, region, account, cluster
    /// A container instance or task id: random, never known in advance.
    case unknownID
}

/// One call the ECS agent makes through an ECS endpoint, read from the agent's source (aws/amazon-ecs-agent at
/// 8dfceca, agent 1.105.1; `source` is a path in that repository).
public struct AgentCall: Sendable, Equatable {
    /// The IAM action, `ecs:Name`.
    public let action: String
    public let endpoint: ECSEndpoint
    public let resource: AgentCallResource
    /// When the agent makes it ("always" or the circumstance).
    public let when: String
    public let source: String

    /// Every call, in the order an agent makes them from its start.
    public static let all: [AgentCall] = [
        AgentCall(
            action: "ecs:RegisterContainerInstance", endpoint: .ecs, resource: .cluster,
            when: "always: at every start",
            source: "ecs-agent/api/ecs/client/ecs_client.go (RegisterContainerInstance)"
        ),
        AgentCall(
            action: "ecs:CreateCluster", endpoint: .ecs, resource: .none,
            when: "when ECS_CLUSTER is unset and the cluster `default` does not exist",
            source: "ecs-agent/api/ecs/client/ecs_client.go (RegisterContainerInstance, CreateCluster)"
        ),
        AgentCall(
            action: "ecs:DiscoverPollEndpoint", endpoint: .ecs, resource: .none,
            when: "always: after registering and when its 12 h cache entry expires (ACS, TCS, Service Connect)",
            source: "ecs-agent/api/ecs/client/ecs_client.go (discoverPollEndpoint)"
        ),
        AgentCall(
            action: "ecs:SubmitTaskStateChange", endpoint: .ecs, resource: .cluster,
            when: "always: every task start and stop",
            source: "ecs-agent/api/ecs/client/ecs_client.go (SubmitTaskStateChange)"
        ),
        AgentCall(
            action: "ecs:SubmitContainerStateChange", endpoint: .ecs, resource: .cluster,
            when: "always: every container start and stop",
            source: "ecs-agent/api/ecs/client/ecs_client.go (SubmitContainerStateChange)"
        ),
        AgentCall(
            action: "ecs:SubmitAttachmentStateChanges", endpoint: .ecs, resource: .cluster,
            when: "tasks with awsvpc networking (ENI attachments)",
            source: "agent/eventhandler/attachment_handler.go; ecs-agent/api/ecs/client/ecs_client.go (SubmitAttachmentStateChange)"
        ),
        AgentCall(
            action: "ecs:UpdateContainerInstancesState", endpoint: .ecs, resource: .containerInstance,
            when: "on a Spot interruption notice, with ECS_ENABLE_SPOT_INSTANCE_DRAINING=true",
            source: "agent/app/agent.go (spotInstanceDrainingPoller); ecs-agent/api/ecs/client/ecs_client.go"
        ),
        AgentCall(
            action: "ecs:ListTagsForResource", endpoint: .ecs, resource: .containerInstance,
            when: "when a task asks the task metadata endpoint for tags (…/taskWithTags)",
            source: "agent/handlers/v2/response.go (GetResourceTags); ecs-agent/api/ecs/client/ecs_client.go"
        ),
        AgentCall(
            action: "ecs:GetTaskProtection", endpoint: .ecs, resource: .task,
            when: "when a task reads its scale-in protection (task metadata endpoint, with the task role)",
            source: "ecs-agent/tmds/handlers/taskprotection/v1/handlers/handlers.go"
        ),
        AgentCall(
            action: "ecs:UpdateTaskProtection", endpoint: .ecs, resource: .task,
            when: "when a task sets its scale-in protection (task metadata endpoint, with the task role)",
            source: "ecs-agent/tmds/handlers/taskprotection/v1/handlers/handlers.go"
        ),
        AgentCall(
            action: "ecs:Poll", endpoint: .ecsAgent, resource: .containerInstance,
            when: "always: the ACS websocket (ecs-a), SigV4-signed for the service ecs",
            source: "ecs-agent/wsclient/client.go (ServiceName = \"ecs\"); ecs-agent/acs/session/session.go"
        ),
        AgentCall(
            action: "ecs:StartTelemetrySession", endpoint: .ecsTelemetry, resource: .containerInstance,
            when: "always: the TCS websocket (ecs-t), SigV4-signed for the service ecs",
            source: "ecs-agent/wsclient/client.go (ServiceName = \"ecs\"); ecs-agent/tcs/handler/handler.go"
        ),
    ]

    /// The name without the `ecs:` prefix (RegisterContainerInstance).
    public var name: String {
        action.split(separator: ":", maxSplits: 1).last.map(String.init) ?? action
    }
}

/// What the policy check knows about the instance; `nil` parts are unknown, and a `Resource` that depends on
/// them is reported as not evaluated rather than guessed.
public struct AgentCallContext: Sendable, Equatable {
    public var partition: String?
    public var region: String?
    public var account: String?
    public var cluster: String?

    public init(partition: String? = nil, region: String? = nil, account: String? = nil, cluster: String? = nil) {
        self.partition = partition
        self.region = region
        self.account = account
        self.cluster = cluster
    }

    /// The resource's ARN as far as known: `*` for none, `{REGION}`-style placeholders for unknown parts.
    public func describe(_ resource: AgentCallResource) -> String {
        resource.arnTemplate().map { part in
            switch part {
            case .literal(let text): text
            case .partition: partition ?? "{PARTITION}"
            case .region: region ?? "{REGION}"
            case .account: account ?? "{ACCOUNT}"
            case .cluster: cluster ?? "{CLUSTER}"
            case .unknownID: "{ID}"
            }
        }.joined()
    }

    /// The ARN with every unknown part replaced by `filler`.
    func arn(_ resource: AgentCallResource, filler: String) -> String {
        resource.arnTemplate().map { part in
            switch part {
            case .literal(let text): text
            case .partition: partition ?? filler
            case .region: region ?? filler
            case .account: account ?? filler
            case .cluster: cluster ?? filler
            case .unknownID: filler
            }
        }.joined()
    }
}
