import ECSVPCCore
import Synchronization

/// The related endpoints (ECR, S3, CloudWatch Logs, Secrets Manager, Systems Manager) as this instance's tasks
/// need them: what the task containers use, read from the Docker Engine, then those names resolved and probed like
/// the ECS names.
///
/// Each task container is inspected once, when it first shows up: a cycle costs one list request to the engine
/// while the tasks do not change.
public struct RelatedServicesObserver: Sendable {
    let docker: DockerEngine
    private let known = KnownTaskContainers()

    public init(docker: DockerEngine) {
        self.docker = docker
    }

    /// What the task containers use, and the reason when the engine cannot be read now. Then the containers seen
    /// last are kept and reported (nil when none were): a dockerd that fails a request now and then must neither
    /// make every container be inspected again nor make each task finding come and go in the journal.
    public func taskUsage(region: String) async -> (TaskUsage?, String?) {
        do throws(AgentError) {
            let ids = try await docker.taskContainerIDs()
            let previous = known.containers
            var current: [String: TaskContainer] = [:]
            current.reserveCapacity(ids.count)
            for id in ids {
                if let container = previous[id] {
                    current[id] = container
                } else if let container = try await docker.inspectTaskContainer(id) {
                    current[id] = container
                }
            }
            known.containers = current  // only the containers of now: nothing kept for gone ones
            return (TaskUsage(Array(current.values), region: region), nil)
        } catch {
            let last = known.containers
            return (last.isEmpty ? nil : TaskUsage(Array(last.values), region: region), error.description)
        }
    }
}

/// The related services of one cycle, observed, before the ECS names' verdict is known.
public struct ServicesObservation: Sendable {
    public var reports: [ServiceReport]
    public var usage: TaskUsage?
    public var usageProblem: String?
    public var notes: [String]

    public func assess(configuration: EndpointConfiguration, region: String, probePort: Int) -> ServicesAssessment {
        ServicesAssessment(
            reports: reports, usage: usage, usageProblem: usageProblem, configuration: configuration, region: region,
            notes: notes, probePort: probePort
        )
    }
}

/// The task containers already inspected, by id, shared by the observer's copies.
private final class KnownTaskContainers: Sendable {
    private let stored = Mutex<[String: TaskContainer]>([:])

    var containers: [String: TaskContainer] {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}
