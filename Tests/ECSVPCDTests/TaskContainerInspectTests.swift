import ECSVPCCore
import Testing

@testable import ECSVPCD

/// `DockerEngine.taskContainer(fromInspect:)` on inspect replies of the shapes Docker gives (docker 20.10's
/// `GET /containers/ID/json`, fields as in moby api/types ContainerJSON): what is read, and what is left out.
@Suite("A task container's inspect, read")
struct TaskContainerInspectTests {
    static func read(_ json: String) throws(AgentError) -> TaskContainer {
        try DockerEngine.taskContainer(fromInspect: Array(json.utf8), context: "test")
    }

    @Test("the agent's labels, the image, awslogs' region and endpoint, the ECS Exec mount")
    func full() throws {
        let container = try Self.read("""
            {"Id": "abc", "Name": "/ecs-web-1-web-e8d1", "State": {"Running": true},
             "Config": {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1", "Env": ["DB_PASSWORD=secret"],
                        "Labels": {"com.amazonaws.ecs.task-arn": "arn:aws:ecs:us-east-1:123456789012:task/c/1",
                                   "com.amazonaws.ecs.container-name": "web"}},
             "HostConfig": {"LogConfig": {"Type": "awslogs", "Config": {"awslogs-group": "/ecs/web",
                            "awslogs-region": "eu-west-1", "awslogs-endpoint": "https://logs.example"}}},
             "Mounts": [{"Source": "/var/lib/ecs/deps/execute-command/bin/3.3.0/amazon-ssm-agent",
                         "Destination": "/ecs-execute-command-0f6f/amazon-ssm-agent"}]}
            """)
        #expect(container.name == "web")
        #expect(container.taskARN == "arn:aws:ecs:us-east-1:123456789012:task/c/1")
        #expect(container.image == "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1")
        #expect(container.logDriver == "awslogs")
        #expect(container.awslogsRegion == "eu-west-1")
        #expect(container.awslogsEndpoint == "https://logs.example")
        #expect(container.execEnabled)
    }

    @Test("missing or null parts give an empty value, not a failed read; the name falls back to Docker's")
    func sparse() throws {
        let container = try Self.read(#"{"Id": "abc", "Name": "/plain", "Config": null, "HostConfig": {"LogConfig": null}, "Mounts": null}"#)
        #expect(container.name == "plain")
        #expect(container.image.isEmpty)
        #expect(container.logDriver.isEmpty)
        #expect(!container.execEnabled)
    }

    @Test("a reply that is not a container says where")
    func malformed() {
        let error = #expect(throws: AgentError.self) { try Self.read(#"{"Name": "x"}"#) }
        #expect(error?.description.contains("Id is missing") == true, "\(String(describing: error))")
        #expect(throws: AgentError.self) { try Self.read("not json") }
    }
}
