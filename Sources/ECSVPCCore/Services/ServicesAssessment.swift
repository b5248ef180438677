/// How a related service is reached from here, judged by its addresses and their TCP probes.
public enum ServiceRoute: String, Sendable, Codable {
    /// Endpoint addresses (VPC or an endpoint range), at least one accepting TCP: an interface endpoint.
    case vpcEndpoint = "vpc-endpoint"
    /// S3 only: public addresses that accept TCP. A gateway endpoint changes routes, not DNS, so this is either
    /// a gateway endpoint or a NAT/internet route; both serve image layers.
    case gatewayOrNAT = "gateway-or-nat"
    /// Public addresses that accept TCP: reached through a NAT or internet gateway, gone in a subnet without one.
    case `public`
    /// No address.
    case unresolved
    /// Addresses, none accepting TCP (a timeout: no route; refused: nothing listens, or a security group).
    case unreachable
}

/// The readiness verdict for "this instance, and the tasks on it, in a subnet without internet access".
public enum Readiness: String, Sendable, Codable {
    case ready
    case notReady = "not-ready"
    /// What the tasks use could not be read (the Docker Engine did not answer) and nothing seen is missing.
    case unknown
}

/// One watched name of a related service, resolved as the agent's host resolves it and probed.
public struct ServiceReport: Hashable, Sendable, Codable {
    public var service: RelatedService
    public var name: String
    public var route: ServiceRoute
    public var resolution: ResolutionReport
    public var addresses: [AddressReport]
    /// What depends on it here; empty when it is only watched (auto's Systems Manager set always has one).
    public var neededBy: [ServiceNeed]

    public init(
        service: RelatedService, name: String, route: ServiceRoute, resolution: ResolutionReport,
        addresses: [AddressReport], neededBy: [ServiceNeed]
    ) {
        self.service = service
        self.name = name
        self.route = route
        self.resolution = resolution
        self.addresses = addresses
        self.neededBy = neededBy
    }

    /// Usable without internet access: an interface endpoint, or for S3 a gateway endpoint (or NAT: a probe
    /// cannot tell them apart).
    public var usableWithoutInternet: Bool {
        route == .vpcEndpoint || (service == .s3 && route == .gatewayOrNAT)
    }

    /// The route of a name from its addresses, classified and probed.
    public static func route(of service: RelatedService, addresses: [AddressReport]) -> ServiceRoute {
        if addresses.isEmpty { return .unresolved }
        if addresses.contains(where: { $0.isEndpoint && $0.tcp == "open" }) { return .vpcEndpoint }
        if addresses.contains(where: { !$0.isEndpoint && $0.tcp == "open" }) {
            return service == .s3 ? .gatewayOrNAT : .public
        }
        return .unreachable
    }
}

/// Which related names to watch this cycle, and for what: from `ECSVPCD_SERVICES`, `ECSVPCD_ECR_ACCOUNTS` and
/// what the task containers use.
public struct ServicePlan: Hashable, Sendable {
    public struct Entry: Hashable, Sendable {
        public var service: RelatedService
        public var name: String
        public var neededBy: [ServiceNeed]
    }

    public var entries: [Entry]
    public var notes: [String]

    /// - Parameter usage: nil when the task containers could not be read.
    public init(
        selection: ServiceSelection, usage: TaskUsage?, region: String, dnsSuffix: String, ecrAccounts: [String]
    ) {
        var needs: [RelatedService: Set<ServiceNeed>] = [:]
        var notes: [String] = []
        if selection.auto {
            for service in RelatedService.systemsManager { needs[service, default: []].insert(.runCommand) }
            if let usage {
                if !usage.ecrContainers.isEmpty {
                    for service in [RelatedService.ecrAPI, .ecrDKR, .s3] { needs[service, default: []].insert(.ecrImages) }
                }
                if !usage.awslogsContainers.isEmpty { needs[.logs, default: []].insert(.awslogs) }
                if !usage.execContainers.isEmpty { needs[.ssmMessages, default: []].insert(.ecsExec) }
                if usage.containerCount > 0, !selection.listed.contains(.secretsManager) {
                    // asmsecret/ssmsecret resources are resolved by the agent and their values merged into the
                    // container's environment (agent/api/task/task.go, populateContainerSecrets): Docker shows no
                    // trace of a secret, so their use cannot be told from here.
                    notes.append(
                        "task secrets cannot be seen through Docker: list secretsmanager in ECSVPCD_SERVICES "
                            + "(auto,secretsmanager) if tasks take secrets from Secrets Manager"
                    )
                }
            }
            if !ecrAccounts.isEmpty {
                for service in [RelatedService.ecrAPI, .ecrDKR, .s3] where needs[service] == nil { needs[service] = [] }
            }
        }
        for service in selection.listed {
            needs[service, default: []].insert(.configured)
            if service == .ssm || service == .secretsManager { needs[service, default: []].insert(.secrets) }
        }
        let accounts = Array(Set(ecrAccounts + (usage?.ecrAccounts ?? []))).sorted()
        var entries: [Entry] = []
        for service in needs.keys.sorted() {
            let neededBy = (needs[service] ?? []).sorted()
            let names = service.names(region: region, dnsSuffix: dnsSuffix, ecrAccounts: accounts)
            if names.isEmpty {
                notes.append("ecr.dkr: no registry account known (no ECR image in the task containers); set ECSVPCD_ECR_ACCOUNTS")
            }
            entries += names.map { Entry(service: service, name: $0, neededBy: neededBy) }
        }
        self.entries = entries
        self.notes = notes
    }
}

/// The related services' reports, the readiness verdict and its findings: pure, from one observation.
public struct ServicesAssessment: Hashable, Sendable {
    public var services: [ServiceReport]
    public var readiness: Readiness
    /// Why the verdict is what it is, one line.
    public var readinessDetail: String
    public var findings: [Finding]
    /// Skipped containers, unknown accounts, and the like.
    public var notes: [String]

    public static let maxNotes = 10

    /// - Parameters:
    ///   - reports: the plan's names, observed and classified (`ServiceReport`s in plan order).
    ///   - usage: nil when the task containers could not be read; `usageProblem` says why.
    ///   - configuration: the ECS names' verdict: the agent itself needs them on endpoints.
    public init(
        reports: [ServiceReport], usage: TaskUsage?, usageProblem: String?, configuration: EndpointConfiguration,
        region: String, notes: [String], probePort: Int
    ) {
        services = reports
        var findings: [Finding] = []
        var missing: [String] = []
        func of(_ service: RelatedService) -> [ServiceReport] { reports.filter { $0.service == service } }
        func unusable(_ services: [RelatedService]) -> [ServiceReport] {
            services.flatMap(of).filter { !$0.usableWithoutInternet }
        }
        func describe(_ list: [ServiceReport]) -> String {
            list.map { "\($0.name) (\($0.route.rawValue))" }.joined(separator: ", ")
        }
        func some(_ containers: [String]) -> String {
            containers.prefix(3).joined(separator: ", ") + (containers.count > 3 ? " and \(containers.count - 3) more" : "")
        }
        func endpointHint(_ services: [RelatedService]) -> String {
            "Create the interface endpoint" + (services.count > 1 ? "s " : " ")
                + services.map { $0.endpointServiceName(region: region) }.joined(separator: ", ")
                + " with private DNS, in the instances' subnets, with a security group allowing TCP 443 from them."
        }

        if configuration != .vpcEndpoints { missing.append("ECS names \(configuration.rawValue)") }
        let usage = usage ?? TaskUsage()

        // Endpoints that exist but do not accept 443: broken now, whatever the subnet.
        for report in reports where report.route == .unreachable && report.addresses.contains(where: \.isEndpoint) {
            let tcp = report.addresses.compactMap(\.tcp).first ?? "no answer"
            findings.append(Finding(
                id: "service-endpoint-not-accepting", severity: .warning,
                message: "\(report.name) (\(report.service.rawValue)) resolves to endpoint addresses that do not accept "
                    + "TCP \(probePort) (\(EndpointFindings.describe(tcp))): "
                    + (report.neededBy.isEmpty ? "nothing here uses it yet" : "\(report.neededBy.map(\.rawValue).joined(separator: ", ")) fail now"),
                hint: "Allow inbound TCP 443 from the instances' subnets in the security group of the "
                    + "\(report.service.endpointServiceName(region: region)) endpoint."
            ))
        }

        if !usage.ecrContainers.isEmpty {
            // S3 that does not resolve is listed with ECR (a DNS problem); S3 that times out is a missing route.
            let ecr = unusable([.ecrAPI, .ecrDKR]) + of(.s3).filter { $0.route == .unresolved }
            let s3Broken = of(.s3).filter { $0.route == .unreachable }
            let dkrOnEndpoint = !of(.ecrDKR).isEmpty && of(.ecrDKR).allSatisfy { $0.route == .vpcEndpoint }
            if !ecr.isEmpty {
                missing.append("ECR: " + describe(ecr))
                findings.append(Finding(
                    id: "ecr-no-endpoint", severity: .info,
                    message: "Image pulls from ECR (\(some(usage.ecrContainers))) will fail at the next pull (a task "
                        + "start, a new image) in a subnet without internet access: " + describe(ecr) + (ecr.count > 1 ? " have" : " has") + " no VPC endpoint",
                    hint: endpointHint([.ecrAPI, .ecrDKR]) + " ECR also needs S3 (a gateway endpoint) for the image layers."
                ))
            }
            if !s3Broken.isEmpty {
                missing.append("S3: " + describe(s3Broken))
                let tcp = s3Broken.flatMap(\.addresses).compactMap(\.tcp).first ?? "timeout"
                let what = "TCP \(probePort) \(EndpointFindings.describe(tcp))"
                findings.append(Finding(
                    id: dkrOnEndpoint ? "ecr-dkr-without-s3" : "s3-no-route", severity: .warning,
                    message: (dkrOnEndpoint
                        ? "Image pulls will fail: ECR has an endpoint but S3 has no route"
                        : "Image pulls from ECR will fail: the image layers' S3 bucket has no route")
                        + " (\(s3Broken.map(\.name).joined(separator: ", ")): \(what)); the next pull of "
                        + "\(some(usage.ecrContainers)) fails while downloading layers",
                    hint: "Add the S3 gateway endpoint com.amazonaws.\(region).s3 to the route tables of the instances' "
                        + "subnets (its policy must allow arn:aws:s3:::prod-\(region)-starport-layer-bucket/*)."
                ))
            }
        }
        if !usage.ecrOtherRegion.isEmpty {
            findings.append(Finding(
                id: "ecr-other-region", severity: .info,
                message: "Images of \(some(usage.ecrOtherRegion)) come from another region's ECR: VPC endpoints "
                    + "serve their own region only, so these pulls need internet access",
                hint: "Replicate the repositories to \(region) (ECR replication) and use those image names."
            ))
            missing.append("ECR in another region")
        }
        if !usage.internetImages.isEmpty {
            findings.append(Finding(
                id: "images-need-internet", severity: .info,
                message: "Images of \(some(usage.internetImages)) come from registries outside this VPC: their next "
                    + "pull fails without internet access",
                hint: "Copy the images into ECR in \(region) (pull-through cache rules do this for Docker Hub and "
                    + "public.ecr.aws) and use those names."
            ))
            missing.append("images from the internet")
        }
        if !usage.awslogsContainers.isEmpty, case let logs = unusable([.logs]), !logs.isEmpty {
            missing.append("logs: " + describe(logs))
            findings.append(Finding(
                id: "logs-no-endpoint", severity: .info,
                message: "Containers logging with awslogs (\(some(usage.awslogsContainers))) need " + describe(logs)
                    + ": without internet access they fail to start (the driver creates its log stream at start) and "
                    + "running ones lose their log lines once the driver's buffer is full",
                hint: endpointHint([.logs])
            ))
        }
        if !usage.awslogsOtherRegion.isEmpty {
            missing.append("awslogs to another region")
            findings.append(Finding(
                id: "logs-other-region", severity: .info,
                message: "awslogs of \(some(usage.awslogsOtherRegion)) sends to another region: VPC endpoints serve "
                    + "their own region only, so these containers need internet access",
                hint: "Set awslogs-region to \(region) in their task definitions' log configuration."
            ))
        }
        if !usage.execContainers.isEmpty, case let exec = unusable([.ssmMessages]), !exec.isEmpty {
            missing.append("ECS Exec: " + describe(exec))
            findings.append(Finding(
                id: "ecs-exec-no-endpoint", severity: .info,
                message: "ECS Exec into \(some(usage.execContainers)) (aws ecs execute-command) fails without "
                    + "internet access: " + describe(exec) + " has no VPC endpoint",
                hint: endpointHint([.ssmMessages])
            ))
        }
        let secrets = reports.filter { $0.neededBy.contains(.secrets) && !$0.usableWithoutInternet }
        if !secrets.isEmpty {
            missing.append("secrets: " + describe(secrets))
            findings.append(Finding(
                id: "secrets-no-endpoint", severity: .info,
                message: "Tasks taking secrets or parameters from " + describe(secrets) + " fail at their next start "
                    + "without internet access: the agent fetches them before it creates the containers",
                hint: endpointHint(Array(Set(secrets.map(\.service))).sorted())
            ))
        }
        let runCommand = reports.filter { $0.neededBy.contains(.runCommand) && [.ssm, .ssmMessages].contains($0.service) }
            .filter { !$0.usableWithoutInternet }
        if !runCommand.isEmpty {
            missing.append("Run Command: " + describe(runCommand))
            let ec2Messages = of(.ec2Messages).filter { !$0.usableWithoutInternet }
            findings.append(Finding(
                id: "run-command-unreachable", severity: .info,
                message: "Without ssm and ssmmessages endpoints, Run Command cannot reach this instance in a subnet "
                    + "without internet access: the rollout kit's ecsvpcd-rollout and ecsvpcd-install documents would "
                    + "not run here (" + describe(runCommand) + ")"
                    + (ec2Messages.isEmpty ? "" : "; SSM agents before 3.3.40 also need ec2messages"),
                hint: endpointHint([.ssm, .ssmMessages] + (ec2Messages.isEmpty ? [] : [.ec2Messages]))
            ))
        }
        let configured = reports.filter { $0.neededBy == [.configured] && !$0.usableWithoutInternet }
        if !configured.isEmpty { missing.append("listed: " + describe(configured)) }

        if !missing.isEmpty {
            readiness = .notReady
            readinessDetail = "without internet access these break: " + missing.joined(separator: "; ")
        } else if let usageProblem {
            readiness = .unknown
            readinessDetail = "the task containers could not be read (\(usageProblem)); what was seen is ready"
        } else {
            readiness = .ready
            readinessDetail = "everything watched here is reachable without internet access"
                + (usage.containerCount == 0 ? " (no task containers run)" : "")
        }
        self.findings = findings
        // Bounded: a host of containers with malformed images must not make every status document grow with them.
        let allNotes = notes + usage.notes + (usageProblem.map { ["task containers unknown: \($0)"] } ?? [])
        self.notes = allNotes.count <= Self.maxNotes
            ? allNotes : Array(allNotes.prefix(Self.maxNotes)) + ["and \(allNotes.count - Self.maxNotes) more notes"]
    }
}
