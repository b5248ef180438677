import ECSVPCCore
import Testing

private let region = "us-east-1"
private let suffix = "amazonaws.com"
private let account = "123456789012"
private let ecrImage = "\(account).dkr.ecr.\(region).\(suffix)/web:1"

/// VPC 10.1.0.0/16; the default endpoint ranges; 52.x is public.
private let classifier = AddressClassifier(vpcCIDRs: [CIDR("10.1.0.0/16")!], endpointCIDRs: AddressClassifier.defaultEndpointCIDRs)

private func address(_ text: String, _ tcp: ProbeOutcome?) -> AddressReport {
    let ip = IPAddress(text)!
    return AddressReport(address: ip, class: classifier.classify(ip), ttl: 60, probe: tcp)
}

/// How a fabricated name answered.
private enum Answer {
    case endpoint  // 10.1.x, open
    case endpointDropped  // 10.1.x, timeout
    case publicOpen  // 52.x, open
    case publicDropped  // 52.x, timeout
    case none

    var addresses: [AddressReport] {
        switch self {
        case .endpoint: [address("10.1.0.10", .open(milliseconds: 0.3))]
        case .endpointDropped: [address("10.1.0.11", .timeout)]
        case .publicOpen: [address("52.1.2.3", .open(milliseconds: 3))]
        case .publicDropped: [address("52.1.2.4", .timeout)]
        case .none: []
        }
    }
}

private func task(
    _ name: String, image: String = ecrImage, log: String = "json-file", logRegion: String? = nil, exec: Bool = false
) -> TaskContainer {
    TaskContainer(
        id: name + "-id", name: name, taskARN: "arn:aws:ecs:\(region):\(account):task/c/\(name)", image: image,
        logDriver: log, awslogsRegion: logRegion, execEnabled: exec
    )
}

/// Plans with `selection` for `containers` (nil: Docker unreadable), answers each service's names by `answers`
/// (default: on an endpoint), and assesses with the ECS names at `configuration`.
private func assess(
    _ containers: [TaskContainer]?, selection: ServiceSelection = .automatic, accounts: [String] = [],
    configuration: EndpointConfiguration = .vpcEndpoints, _ answers: [RelatedService: Answer] = [:]
) -> ServicesAssessment {
    let usage = containers.map { TaskUsage($0, region: region) }
    let plan = ServicePlan(selection: selection, usage: usage, region: region, dnsSuffix: suffix, ecrAccounts: accounts)
    let reports = plan.entries.map { entry in
        let addresses = (answers[entry.service] ?? .endpoint).addresses
        return ServiceReport(
            service: entry.service, name: entry.name, route: ServiceReport.route(of: entry.service, addresses: addresses),
            resolution: ResolutionReport(NameResolution(name: entry.name, outcome: addresses.isEmpty ? .nxdomain : .answered)),
            addresses: addresses, neededBy: entry.neededBy
        )
    }
    return ServicesAssessment(
        reports: reports, usage: usage, usageProblem: usage == nil ? "Docker Engine not running" : nil,
        configuration: configuration, region: region, notes: plan.notes, probePort: 443
    )
}

private func ids(_ assessment: ServicesAssessment) -> [String] { assessment.findings.map(\.id) }

@Suite("Related endpoints: selection, routes, readiness and its findings")
struct ServicesAssessmentTests {
    @Test("ECR image names: account and region, other registries, malformed ones")
    func imageNames() {
        #expect(ImageRegistry(image: ecrImage) == .ecr(account: account, region: region))
        #expect(ImageRegistry(image: "\(account).dkr.ecr-fips.us-gov-west-1.amazonaws.com/a@sha256:abc") == .ecr(account: account, region: "us-gov-west-1"))
        #expect(ImageRegistry(image: "\(account).dkr.ecr.cn-north-1.amazonaws.com.cn/a") == .ecr(account: account, region: "cn-north-1"))
        #expect(ImageRegistry(image: "nginx:latest") == .other(host: "docker.io"))
        #expect(ImageRegistry(image: "library/nginx") == .other(host: "docker.io"))
        #expect(ImageRegistry(image: "public.ecr.aws/nginx/nginx:1") == .other(host: "public.ecr.aws"))
        #expect(ImageRegistry(image: "registry.example.com:5000/app") == .other(host: "registry.example.com:5000"))
        for bad in ["", "has space/x", "sha256:0123", "12345.dkr.ecr.us-east-1.amazonaws.com/a", "\(account).dkr.ecr.us-east-1.amazonaws.com/",
                    "\(account).dkr.ecr.US_EAST.amazonaws.com/a", "\(account).dkr.ecr.us-east-1.example.com/a"] {
            guard case .malformed = ImageRegistry(image: bad) else {
                Issue.record("\(bad) should be malformed")
                continue
            }
        }
    }

    @Test("ECSVPCD_SERVICES values: auto, off, lists with and without auto; bad ones refused")
    func selection() {
        #expect(ServiceSelection("auto") == .automatic)
        #expect(ServiceSelection("off")?.isOff == true)
        #expect(ServiceSelection("auto,secretsmanager") == ServiceSelection(auto: true, listed: [.secretsManager]))
        #expect(ServiceSelection("ecr.api, s3,ecr.api") == ServiceSelection(auto: false, listed: [.ecrAPI, .s3]))
        for bad in ["", "ecr", "auto,off", "s3,off", "logs,cloudwatch"] { #expect(ServiceSelection(bad) == nil, "\(bad)") }
    }

    @Test("the key ECSVPCD_SERVICES and ECSVPCD_ECR_ACCOUNTS parse, and bad values name the key")
    func keys() throws {
        let settings = try SettingsParser.parse(
            file: ("/etc/ecsvpcd/ecsvpcd.conf", "ECSVPCD_SERVICES=auto,secretsmanager\nECSVPCD_ECR_ACCOUNTS=\(account),210987654321\n"),
            environment: [:]
        )
        #expect(settings.services == ServiceSelection(auto: true, listed: [.secretsManager]))
        #expect(settings.ecrAccounts == [account, "210987654321"])
        #expect(Settings().services == .automatic)
        let error = #expect(throws: ConfigurationError.self) {
            try SettingsParser.parse(file: ("/c", "ECSVPCD_ECR_ACCOUNTS=1234\n"), environment: [:])
        }
        #expect(error?.description.contains("ECSVPCD_ECR_ACCOUNTS") == true)
        #expect(error?.description.contains("12-digit") == true)
        #expect(throws: ConfigurationError.self) { try SettingsParser.parse(file: nil, environment: ["ECSVPCD_SERVICES": "s4"]) }
    }

    @Test("auto without task containers watches the Systems Manager set only")
    func autoNoTasks() {
        let plan = ServicePlan(selection: .automatic, usage: TaskUsage([], region: region), region: region, dnsSuffix: suffix, ecrAccounts: [])
        #expect(plan.entries.map(\.name) == ["ssm.us-east-1.amazonaws.com", "ssmmessages.us-east-1.amazonaws.com", "ec2messages.us-east-1.amazonaws.com"])
        #expect(plan.entries.allSatisfy { $0.neededBy == [.runCommand] })
        let assessment = assess([])
        #expect(assessment.readiness == .ready)
        #expect(assessment.findings.isEmpty)
    }

    @Test("auto follows the tasks: ECR + S3 for ECR images, logs for awslogs here, ssmmessages for ECS Exec")
    func autoFollowsTasks() {
        let usage = TaskUsage([
            task("web", log: "awslogs", logRegion: region), task("worker", log: "awslogs"), task("shell", exec: true),
            task("hub", image: "nginx:1"),
        ], region: region)
        let plan = ServicePlan(selection: .automatic, usage: usage, region: region, dnsSuffix: suffix, ecrAccounts: [])
        let byName = Dictionary(uniqueKeysWithValues: plan.entries.map { ($0.name, $0) })
        #expect(plan.entries.map(\.service) == [.ecrAPI, .ecrDKR, .s3, .logs, .ssm, .ssmMessages, .ec2Messages])
        #expect(byName["api.ecr.us-east-1.amazonaws.com"]?.neededBy == [.ecrImages])
        #expect(byName["\(account).dkr.ecr.us-east-1.amazonaws.com"]?.neededBy == [.ecrImages])
        #expect(byName["prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com"]?.neededBy == [.ecrImages])
        #expect(byName["logs.us-east-1.amazonaws.com"]?.neededBy == [.awslogs])
        #expect(byName["ssmmessages.us-east-1.amazonaws.com"]?.neededBy == [.ecsExec, .runCommand])
        #expect(usage.awslogsContainers == ["web", "worker"])  // no awslogs-region: the instance's region
        #expect(plan.notes.contains { $0.contains("secretsmanager") })  // secrets cannot be seen
        #expect(plan.entries.count <= 10)  // with the three ECS names, about 13 names a cycle
    }

    @Test("ECSVPCD_ECR_ACCOUNTS adds registries; listed services are needed; off watches nothing")
    func configuredSelection() {
        let plan = ServicePlan(
            selection: ServiceSelection(auto: false, listed: [.ecrDKR, .secretsManager]), usage: TaskUsage([task("a")], region: region),
            region: region, dnsSuffix: suffix, ecrAccounts: ["210987654321"]
        )
        #expect(plan.entries.map(\.name) == [
            "\(account).dkr.ecr.us-east-1.amazonaws.com", "210987654321.dkr.ecr.us-east-1.amazonaws.com",
            "secretsmanager.us-east-1.amazonaws.com",
        ])
        #expect(plan.entries.last?.neededBy == [.secrets, .configured])
        let noAccount = ServicePlan(selection: ServiceSelection("ecr.dkr")!, usage: TaskUsage(), region: region, dnsSuffix: suffix, ecrAccounts: [])
        #expect(noAccount.entries.isEmpty)
        #expect(noAccount.notes.contains { $0.contains("ECSVPCD_ECR_ACCOUNTS") })
        #expect(ServicePlan(selection: .off, usage: nil, region: region, dnsSuffix: suffix, ecrAccounts: [account]).entries.isEmpty)
        let secrets = assess([task("a")], selection: ServiceSelection("auto,secretsmanager")!, [.secretsManager: .publicOpen])
        #expect(ids(secrets) == ["secrets-no-endpoint"])
        #expect(secrets.readiness == .notReady)
    }

    @Test("routes: endpoint open, S3 open on public addresses is gateway-or-nat, timeouts unreachable")
    func routes() {
        #expect(ServiceReport.route(of: .logs, addresses: Answer.endpoint.addresses) == .vpcEndpoint)
        #expect(ServiceReport.route(of: .logs, addresses: Answer.publicOpen.addresses) == .public)
        #expect(ServiceReport.route(of: .s3, addresses: Answer.publicOpen.addresses) == .gatewayOrNAT)
        #expect(ServiceReport.route(of: .s3, addresses: Answer.publicDropped.addresses) == .unreachable)
        #expect(ServiceReport.route(of: .ssm, addresses: Answer.endpointDropped.addresses) == .unreachable)
        #expect(ServiceReport.route(of: .ssm, addresses: []) == .unresolved)
    }

    @Test("everything on endpoints and S3 through its gateway: ready, no findings")
    func ready() {
        let assessment = assess([task("web", log: "awslogs", exec: true)], [.s3: .publicOpen])
        #expect(assessment.readiness == .ready)
        #expect(assessment.findings.isEmpty)
    }

    @Test("ecr-dkr-without-s3: ECR has an endpoint, S3 times out")
    func ecrWithoutS3() throws {
        let assessment = assess([task("web")], [.s3: .publicDropped])
        #expect(ids(assessment) == ["ecr-dkr-without-s3"])
        let finding = try #require(assessment.findings.first)
        #expect(finding.severity == .warning)
        #expect(finding.message.hasPrefix("Image pulls will fail: ECR has an endpoint but S3 has no route"))
        #expect(finding.hint.contains("gateway endpoint com.amazonaws.us-east-1.s3"))
        #expect(assessment.readiness == .notReady)
    }

    @Test("ecr-no-endpoint and s3-no-route when neither has a way")
    func ecrPublic() {
        let assessment = assess([task("web")], [.ecrAPI: .publicOpen, .ecrDKR: .publicOpen, .s3: .publicDropped])
        #expect(ids(assessment) == ["ecr-no-endpoint", "s3-no-route"])
        #expect(assessment.findings.first?.message.contains("api.ecr.us-east-1.amazonaws.com (public)") == true)
    }

    @Test("logs-no-endpoint and logs-other-region")
    func logs() {
        let here = assess([task("web", log: "awslogs", logRegion: region)], [.logs: .publicOpen])
        #expect(ids(here) == ["logs-no-endpoint"])
        #expect(here.findings.first?.message.contains("web") == true)
        let away = assess([task("web", log: "awslogs", logRegion: "eu-west-1")])
        #expect(ids(away) == ["logs-other-region"])
        #expect(away.services.contains { $0.service == .logs } == false)
        #expect(away.readiness == .notReady)
    }

    @Test("ecs-exec-no-endpoint and run-command-unreachable, ec2messages named for old SSM agents")
    func systemsManager() throws {
        let assessment = assess([task("shell", exec: true)], [.ssmMessages: .none, .ec2Messages: .none])
        #expect(ids(assessment) == ["ecs-exec-no-endpoint", "run-command-unreachable"])
        let runCommand = try #require(assessment.findings.last)
        #expect(runCommand.message.hasPrefix("Without ssm and ssmmessages endpoints, Run Command cannot reach this instance"))
        #expect(runCommand.message.contains("3.3.40"))
        #expect(runCommand.hint.contains("com.amazonaws.us-east-1.ec2messages"))
    }

    @Test("service-endpoint-not-accepting: an endpoint whose security group drops 443")
    func notAccepting() {
        let assessment = assess([], [.ssm: .endpointDropped])
        #expect(ids(assessment) == ["service-endpoint-not-accepting", "run-command-unreachable"])
        #expect(assessment.findings.first?.severity == .warning)
    }

    @Test("images-need-internet and ecr-other-region")
    func images() {
        let assessment = assess([task("hub", image: "nginx"), task("far", image: "\(account).dkr.ecr.eu-west-1.amazonaws.com/x")])
        #expect(Set(ids(assessment)) == ["images-need-internet", "ecr-other-region"])
        #expect(assessment.readiness == .notReady)
    }

    @Test("malformed image names and log configs are skipped with a note")
    func malformed() {
        let assessment = assess([
            task("bad", image: "12345.dkr.ecr.us-east-1.amazonaws.com/x", log: "awslogs", logRegion: "Europe!"),
            TaskContainer(id: "e", name: "custom", taskARN: "t", image: ecrImage, logDriver: "awslogs", awslogsEndpoint: "https://logs.example"),
        ])
        #expect(assessment.notes.contains { $0.contains("container bad: image") && $0.contains("skipped") })
        #expect(assessment.notes.contains { $0.contains("awslogs-region \"Europe!\" is not a region") })
        #expect(assessment.notes.contains { $0.contains("awslogs-endpoint") })
        #expect(assessment.findings.isEmpty)
    }

    @Test("readiness: the ECS names count; unreadable tasks give unknown unless something seen is missing")
    func readiness() {
        #expect(assess([], configuration: .public).readiness == .notReady)
        #expect(assess([], configuration: .public).readinessDetail.contains("ECS names public"))
        #expect(assess(nil).readiness == .unknown)
        #expect(assess(nil).notes.contains { $0.contains("Docker Engine not running") })
        #expect(assess(nil, [.ssm: .publicOpen]).readiness == .notReady)
    }

    @Test("notes are bounded: many malformed images give ten notes and a count")
    func boundedNotes() {
        let containers = (0..<30).map { task("bad\($0)", image: "sha256:\($0)") }
        let assessment = assess(containers)
        #expect(assessment.notes.count == ServicesAssessment.maxNotes + 1)
        #expect(assessment.notes.last == "and 21 more notes")
    }

    @Test("S3 that does not resolve is listed with ECR (info), not as a missing route")
    func s3Unresolved() {
        let assessment = assess([task("web")], [.s3: .none])
        #expect(ids(assessment) == ["ecr-no-endpoint"])
        #expect(assessment.findings.first?.message.contains("prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com (unresolved)") == true)
        #expect(assessment.readiness == .notReady)
    }
}
