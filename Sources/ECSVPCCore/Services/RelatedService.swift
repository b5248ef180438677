/// The AWS services beside ECS that the instance and its tasks need in a subnet without internet access, each
/// reached through its own VPC endpoint (DESIGN.md, "Related endpoints").
public enum RelatedService: String, Sendable, Codable, CaseIterable, Comparable {
    case ecrAPI = "ecr.api"
    case ecrDKR = "ecr.dkr"
    case s3
    case logs
    case secretsManager = "secretsmanager"
    case ssm
    case ssmMessages = "ssmmessages"
    case ec2Messages = "ec2messages"

    /// What Systems Manager Run Command (the rollout kit's `ecsvpcd-rollout` document) needs: ec2messages only
    /// for SSM agents before 3.3.40.
    public static let systemsManager: [RelatedService] = [.ssm, .ssmMessages, .ec2Messages]

    /// The name the tasks dial. ECR's registry is per account (`ACCOUNT.dkr.ecr.REGION.SUFFIX`, one name each);
    /// S3's is the bucket ECR keeps image layers in, as Docker dials it (`prod-REGION-starport-layer-bucket`,
    /// virtual-hosted): a gateway endpoint leaves its DNS public, so only its probe tells.
    public func names(region: String, dnsSuffix: String, ecrAccounts: [String]) -> [String] {
        let under = "\(region).\(dnsSuffix)"
        switch self {
        case .ecrAPI: return ["api.ecr.\(under)"]
        case .ecrDKR: return ecrAccounts.map { "\($0).dkr.ecr.\(under)" }
        case .s3: return ["prod-\(region)-starport-layer-bucket.s3.\(under)"]
        default: return ["\(rawValue).\(under)"]
        }
    }

    /// The endpoint's service name, for hints.
    public func endpointServiceName(region: String) -> String { "com.amazonaws.\(region).\(rawValue)" }

    public static func < (lhs: RelatedService, rhs: RelatedService) -> Bool {
        allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
    }
}

/// Why a related service is watched: which feature of this instance or its tasks breaks without it.
public enum ServiceNeed: String, Sendable, Codable, CaseIterable, Comparable {
    /// Task images from ECR (ecr.api, ecr.dkr, s3).
    case ecrImages = "ecr-images"
    /// Task containers logging with the `awslogs` driver (logs).
    case awslogs
    /// Secrets and parameters of task definitions (secretsmanager, ssm): the agent fetches them at task start.
    case secrets
    /// ECS Exec into task containers (ssmmessages).
    case ecsExec = "ecs-exec"
    /// Systems Manager Run Command, which the rollout kit uses (ssm, ssmmessages, ec2messages).
    case runCommand = "run-command"
    /// Listed in `ECSVPCD_SERVICES` by the operator.
    case configured

    public static func < (lhs: ServiceNeed, rhs: ServiceNeed) -> Bool {
        allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
    }
}

/// `ECSVPCD_SERVICES`: which related services to watch.
public struct ServiceSelection: Hashable, Sendable {
    /// Watch what the running tasks use (ECR, awslogs, ECS Exec) and the Systems Manager set.
    public var auto: Bool
    /// Watched whatever the tasks use, and counted in the readiness verdict: the operator says they are needed.
    public var listed: [RelatedService]

    public init(auto: Bool, listed: [RelatedService]) {
        self.auto = auto
        self.listed = listed
    }

    public static let automatic = ServiceSelection(auto: true, listed: [])
    public static let off = ServiceSelection(auto: false, listed: [])

    public var isOff: Bool { !auto && listed.isEmpty }

    /// `auto`, `off`, or a comma list of services, `auto` among them or not (`auto,secretsmanager`).
    public init?(_ text: String) {
        let items = text.split(separator: ",").map { $0.trimmingWhitespace().lowercased() }.filter { !$0.isEmpty }
        if items == ["off"] { self = .off; return }
        var auto = false
        var listed: [RelatedService] = []
        for item in items {
            if item == "auto" { auto = true; continue }
            guard let service = RelatedService(rawValue: item) else { return nil }
            if !listed.contains(service) { listed.append(service) }
        }
        guard auto || !listed.isEmpty else { return nil }
        self.init(auto: auto, listed: listed)
    }
}
