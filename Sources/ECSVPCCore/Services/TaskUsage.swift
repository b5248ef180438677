/// One task container as the Docker Engine shows it (a container the ECS agent made: it carries the agent's
/// `com.amazonaws.ecs.task-arn` label), reduced to what it uses of AWS.
public struct TaskContainer: Hashable, Sendable {
    public var id: String
    /// The task definition's container name (label `com.amazonaws.ecs.container-name`), else Docker's name.
    public var name: String
    public var taskARN: String
    /// `Config.Image`: the image name the agent created the container with.
    public var image: String
    /// `HostConfig.LogConfig.Type`.
    public var logDriver: String
    /// The awslogs driver's `awslogs-region` and `awslogs-endpoint` options, when set (no other option is kept).
    public var awslogsRegion: String?
    public var awslogsEndpoint: String?
    /// The agent's ECS Exec bind mounts are there (its managed SSM agent runs in the container).
    public var execEnabled: Bool

    public init(
        id: String, name: String, taskARN: String, image: String, logDriver: String, awslogsRegion: String? = nil,
        awslogsEndpoint: String? = nil, execEnabled: Bool = false
    ) {
        self.id = id
        self.name = name
        self.taskARN = taskARN
        self.image = image
        self.logDriver = logDriver
        self.awslogsRegion = awslogsRegion
        self.awslogsEndpoint = awslogsEndpoint
        self.execEnabled = execEnabled
    }
}

/// Where an image name says its registry is.
public enum ImageRegistry: Hashable, Sendable {
    /// A private ECR registry: `ACCOUNT.dkr.ecr[-fips].REGION.SUFFIX/REPOSITORY…`.
    case ecr(account: String, region: String)
    /// Any other registry (Docker Hub, `public.ecr.aws`, a registry of one's own): reached through the internet.
    case other(host: String)
    /// Not a name a registry can be told from; the reason.
    case malformed(String)

    /// Reads the registry part of an image reference the way Docker does: the part before the first `/` is a
    /// registry host when it has a `.` or a `:` or is `localhost`; otherwise the image is Docker Hub's.
    public init(image: String) {
        guard !image.isEmpty, image.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
            self = .malformed("empty or not ASCII without spaces")
            return
        }
        if image.hasPrefix("sha256:") {
            self = .malformed("an image id, no registry in it")
            return
        }
        guard let slash = image.firstIndex(of: "/") else {
            self = .other(host: "docker.io")
            return
        }
        let host = image[..<slash].lowercased()
        let path = image[image.index(after: slash)...]
        guard host.contains(".") || host.contains(":") || host == "localhost" else {
            self = .other(host: "docker.io")
            return
        }
        guard !path.isEmpty, !path.hasPrefix("/") else {
            self = .malformed("no repository after the registry host \(host)")
            return
        }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard labels.count >= 3, labels[1] == "dkr", labels[2].hasPrefix("ecr") else {
            self = .other(host: host)
            return
        }
        // ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn] or ACCOUNT.dkr.ecr-fips.REGION.amazonaws.com
        let suffix = labels.dropFirst(4).joined(separator: ".")
        guard labels.count >= 6, labels[0].count == 12, labels[0].allSatisfy(\.isNumber),
            labels[2] == "ecr" || labels[2] == "ecr-fips",
            EndpointNames.isPlausibleRegion(labels[3]), suffix == "amazonaws.com" || suffix == "amazonaws.com.cn"
        else {
            self = .malformed("\(host) looks like an ECR registry but is not ACCOUNT.dkr.ecr.REGION.amazonaws.com")
            return
        }
        self = .ecr(account: labels[0], region: labels[3])
    }
}

/// What the task containers on this instance use, summed up for one region.
public struct TaskUsage: Hashable, Sendable {
    public var containerCount = 0
    /// ECR registries of this region, by account, sorted.
    public var ecrAccounts: [String] = []
    public var ecrContainers: [String] = []
    /// Containers whose images come from another region's ECR: interface endpoints serve their own region only.
    public var ecrOtherRegion: [String] = []
    /// Containers whose images come from a registry outside AWS (Docker Hub, public.ecr.aws, …), with it.
    public var internetImages: [String] = []
    /// awslogs containers sending to this region.
    public var awslogsContainers: [String] = []
    /// awslogs containers sending to another region, with it.
    public var awslogsOtherRegion: [String] = []
    public var execContainers: [String] = []
    /// What was skipped, and why (malformed image names and log configurations).
    public var notes: [String] = []

    public init() {}

    public init(_ containers: [TaskContainer], region: String) {
        var accounts = Set<String>()
        for container in containers.sorted(by: { $0.name < $1.name }) {
            containerCount += 1
            let who = container.name
            switch ImageRegistry(image: container.image) {
            case .ecr(let account, let imageRegion) where imageRegion == region:
                accounts.insert(account)
                ecrContainers.append(who)
            case .ecr(_, let imageRegion):
                ecrOtherRegion.append("\(who) (\(imageRegion))")
            case .other(let host):
                internetImages.append("\(who) (\(host))")
            case .malformed(let why):
                notes.append("container \(who): image \"\(container.image.prefix(80))\" skipped: \(why)")
            }
            if container.logDriver == "awslogs" {
                if let endpoint = container.awslogsEndpoint {
                    notes.append("container \(who): awslogs sends to its own awslogs-endpoint \(endpoint.prefix(80)), not judged")
                } else if let logRegion = container.awslogsRegion, !EndpointNames.isPlausibleRegion(logRegion) {
                    notes.append("container \(who): awslogs-region \"\(logRegion.prefix(40))\" is not a region, log config skipped")
                } else if let logRegion = container.awslogsRegion, logRegion != region {
                    awslogsOtherRegion.append("\(who) (\(logRegion))")
                } else {
                    // Without awslogs-region, Docker's awslogs driver takes dockerd's AWS_REGION, else the instance's
                    // region from EC2 metadata (moby daemon/logger/awslogs/cloudwatchlogs.go, newAWSLogsClient).
                    awslogsContainers.append(who)
                }
            }
            if container.execEnabled { execContainers.append(who) }
        }
        ecrAccounts = accounts.sorted()
    }
}
