/// The ECS services whose interface endpoints ecsvpcd watches, in the documented creation order.
public enum ECSService: String, Sendable, Codable, CaseIterable, Comparable {
    case ecsAgent = "ecs-agent"
    case ecsTelemetry = "ecs-telemetry"
    case ecs = "ecs"
    /// A name from `ECSVPCD_EXTRA_NAMES`: reported, but not part of the configuration verdict.
    case extra = "extra"

    /// The three services that must all be on endpoints for the agent to use them.
    public static let required: [ECSService] = [.ecsAgent, .ecsTelemetry, .ecs]

    /// The host label that private DNS of this service's endpoint overrides.
    public var hostLabel: String? {
        switch self {
        case .ecsAgent: "ecs-a"
        case .ecsTelemetry: "ecs-t"
        case .ecs: "ecs"
        case .extra: nil
        }
    }

    public static func < (lhs: ECSService, rhs: ECSService) -> Bool {
        lhs.rank < rhs.rank
    }

    private var rank: Int {
        switch self {
        case .ecsAgent: 0
        case .ecsTelemetry: 1
        case .ecs: 2
        case .extra: 3
        }
    }
}

/// One DNS name ecsvpcd resolves and probes.
public struct WatchedName: Hashable, Sendable, Codable {
    public let service: ECSService
    public let name: String

    public init(service: ECSService, name: String) {
        self.service = service
        self.name = name
    }
}

/// AWS partitions and their DNS suffix, used when instance metadata does not give `services/domain`.
public enum Partition: String, Sendable, Codable {
    case aws
    case awsCN = "aws-cn"
    case awsUSGov = "aws-us-gov"

    public init(region: String) {
        if region.hasPrefix("cn-") {
            self = .awsCN
        } else if region.hasPrefix("us-gov-") {
            self = .awsUSGov
        } else {
            self = .aws
        }
    }

    public var dnsSuffix: String {
        switch self {
        case .aws, .awsUSGov: "amazonaws.com"
        case .awsCN: "amazonaws.com.cn"
        }
    }
}

public enum EndpointNames {
    /// The names to watch for a region: `ecs-a`, `ecs-t`, `ecs` under `REGION.SUFFIX`, then the extra names.
    public static func watched(region: String, dnsSuffix: String, extra: [String] = []) -> [WatchedName] {
        let suffix = dnsSuffix.hasSuffix(".") ? String(dnsSuffix.dropLast()) : dnsSuffix
        let required = ECSService.required.compactMap { service in
            service.hostLabel.map { WatchedName(service: service, name: "\($0).\(region).\(suffix)") }
        }
        let known = Set(required.map(\.name))
        var seen = Set<String>()
        let extras = extra.map { $0.lowercased() }.filter { !known.contains($0) && seen.insert($0).inserted }
        return required + extras.map { WatchedName(service: .extra, name: $0) }
    }

    /// Whether `region` looks like an AWS region code (`us-east-1`, `cn-north-1`, `us-gov-west-1`): also one DNS
    /// label (at most 63 characters), since it becomes one in every name.
    public static func isPlausibleRegion(_ region: String) -> Bool {
        guard region.utf8.count <= 63 else { return false }
        let parts = region.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3, let last = parts.last, Int(last) != nil else { return false }
        return parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber) } }
    }

    /// The longest DNS suffix that leaves room for `ecs-a.REGION.` in a name of at most 253 characters.
    public static let maxSuffixLength = 253 - "ecs-a.".count - 63 - 1

    /// Whether `suffix` can end the watched names: labels of letters, digits, `-` and `_`, each 1 to 63 characters,
    /// and at most `maxSuffixLength` in all. (A longer one made names that no resolver can be asked for.)
    public static func isPlausibleSuffix(_ suffix: String) -> Bool {
        let labels = suffix.split(separator: ".", omittingEmptySubsequences: false)
        return !suffix.isEmpty && suffix.utf8.count <= maxSuffixLength && labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        }
    }
}
