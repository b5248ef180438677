import ECSVPCCore
import FoundationEssentials
import Glibc
import Logging

/// The adapters wired from the settings: what `check`, `rollout` and the daemon observe through.
public struct ObservationEnvironment: Sendable {
    public let settings: Settings
    public let metadata: InstanceMetadataClient?
    public let endpointObserver: EndpointObserver
    public let agentObserver: AgentObserver
    public let supervisor: any AgentSupervising
    public let relatedServices: RelatedServicesObserver

    public init(settings: Settings, logger: Logger = Logger(label: "ecsvpcd")) throws {
        self.settings = settings
        let docker = DockerEngine(target: try HTTPTarget(url: settings.dockerHost))
        let supervisor = AgentSupervisor(
            via: settings.restartVia,
            unit: settings.agentUnit,
            container: settings.agentContainer,
            docker: docker
        )
        self.supervisor = supervisor
        relatedServices = RelatedServicesObserver(docker: docker)
        let metadata = try InstanceMetadataClient(endpoint: settings.imdsEndpoint)
        self.metadata = metadata
        agentObserver = AgentObserver(
            container: settings.agentContainer,
            docker: docker,
            introspection: AgentIntrospection(target: try HTTPTarget(url: settings.agentIntrospection)),
            settings: AgentSettingsReader(paths: settings.agentConfig),
            probePort: settings.probePort,
            supervisor: supervisor,
            logger: logger,
            agentLog: settings.agentLog.map { AgentLogReader(path: $0) },
            metadata: metadata
        )
        // resolv.conf is followed as it changes; ECSVPCD_DNS_SERVERS, when set, replaces its nameservers for good.
        let resolvConf = ResolvConfFile(
            path: settings.resolvConf, hostsFile: settings.hostsFile, servers: settings.dnsServers, logger: logger
        )
        let amazon = settings.amazonDNS.map { server in
            let options = ResolvConfFile(path: settings.resolvConf, hostsFile: nil, servers: [server], logger: logger)
            return DNSResolver(resolvConf: options) as any NameResolving
        }
        endpointObserver = EndpointObserver(
            resolver: DNSResolver(resolvConf: resolvConf),
            amazonResolver: amazon,
            probe: TCPProbe(),
            probePort: settings.probePort,
            probeTimeout: settings.probeTimeout
        )
    }

    public func loadInstance() async throws(InstanceContextLoader.Failure) -> InstanceContext {
        try await InstanceContextLoader(settings: settings, metadata: metadata).load()
    }

    public func classifier(for instance: InstanceContext) -> AddressClassifier {
        AddressClassifier(vpcCIDRs: instance.vpcCIDRs, endpointCIDRs: settings.endpointCIDRs)
    }

    public func names(for instance: InstanceContext) -> [WatchedName] {
        EndpointNames.watched(region: instance.region, dnsSuffix: instance.dnsSuffix, extra: settings.extraNames)
    }

    /// Observes the names once and assesses them.
    public func assessEndpoints(_ instance: InstanceContext) async -> EndpointAssessment {
        let observations = await endpointObserver.observe(names(for: instance))
        return EndpointAssessment(
            observations: observations,
            classifier: classifier(for: instance),
            probePort: settings.probePort
        )
    }

    /// Observes the agent once and assesses it against this instance's ECS names and the endpoint addresses they
    /// resolve to now (`EndpointAssessment.websocketEndpointAddresses`).
    public func assessAgent(
        _ instance: InstanceContext, endpointAddresses: Set<IPAddress>, now: Date = Date()
    ) async -> (AgentObservation, AgentAssessment) {
        let observation = await agentObserver.observe()
        let cells = await observeCells(observation, instance: instance)
        // The websockets dial the cell their poll endpoint names (ecs-a-4.REGION.SUFFIX, ecs-t-4…), not ecs-a
        // itself: a NO_PROXY that lists only ecs-a.REGION.SUFFIX exempts neither, so the cell hosts are asked too
        // (those of its log when known, else a cell name of the region).
        let logged = (cells ?? []).map(\.host)
        let cellNames = logged.isEmpty
            ? ["ecs-a-1", "ecs-t-1"].map { "\($0).\(instance.region).\(instance.dnsSuffix)" } : logged
        let hosts = names(for: instance).filter { $0.service != .extra }.map(\.name) + cellNames
        let proxy = hosts.lazy.compactMap { agentProxy(forHost: $0, port: 443, settings: observation.settings) }.first
        let assessment = AgentAssessment(
            observation: observation,
            classifier: classifier(for: instance),
            proxy: proxy,
            region: instance.region,
            endpointAddresses: endpointAddresses,
            cells: cells,
            now: now
        )
        return (observation, assessment)
    }

    /// The cell hosts the agent's log names, resolved and probed like the ECS names (nil: no log read). Only
    /// hosts under this instance's region and suffix are asked: a log is outside input.
    func observeCells(_ observation: AgentObservation, instance: InstanceContext) async -> [AgentCellReport]? {
        guard let log = observation.log else { return nil }
        let suffix = ".\(instance.region).\(instance.dnsSuffix)".lowercased()
        let hosts = log.cells.filter { $0.host.lowercased().hasSuffix(suffix) }
        guard !hosts.isEmpty else { return [] }
        let observations = await endpointObserver.observe(
            hosts.map { WatchedName(service: .extra, name: $0.host) }, compareAmazon: false
        )
        let classifier = classifier(for: instance)
        return zip(hosts, observations).map { host, observed in
            let report = EndpointAssessment.report(for: observed, classifier: classifier)
            return AgentCellReport(
                service: host.service, host: host.host, addresses: report.addresses, route: report.route, source: "log",
                plannedRedial: host.plannedRedial ?? host.expectedDisconnect, lastSeen: host.lastSeen
            )
        }
    }

    /// The related services (`ECSVPCD_SERVICES`): what the task containers use, then the names of the services
    /// they and the rollout kit need, resolved and probed at once. nil when the setting is `off`. Resolved by the
    /// same resolvers as the ECS names, without the Amazon resolver's second opinion (half the queries).
    public func observeServices(_ instance: InstanceContext) async -> ServicesObservation? {
        guard !settings.services.isOff else { return nil }
        let (usage, problem) = await relatedServices.taskUsage(region: instance.region)
        let plan = ServicePlan(
            selection: settings.services, usage: usage, region: instance.region, dnsSuffix: instance.dnsSuffix,
            ecrAccounts: settings.ecrAccounts
        )
        let observed = await endpointObserver.observe(
            plan.entries.map { WatchedName(service: .extra, name: $0.name) }, compareAmazon: false
        )
        let classifier = classifier(for: instance)
        let reports = zip(plan.entries, observed).map { entry, observation in
            let report = EndpointAssessment.report(for: observation, classifier: classifier)
            return ServiceReport(
                service: entry.service, name: entry.name,
                route: ServiceReport.route(of: entry.service, addresses: report.addresses),
                resolution: report.resolution, addresses: report.addresses, neededBy: entry.neededBy
            )
        }
        return ServicesObservation(reports: reports, usage: usage, usageProblem: problem, notes: plan.notes)
    }

    public func instanceSection(_ instance: InstanceContext) -> StatusDocument.Instance {
        StatusDocument.Instance(
            id: instance.instanceID,
            region: instance.region,
            dnsSuffix: instance.dnsSuffix,
            vpcCIDRs: instance.vpcCIDRs,
            endpointCIDRs: settings.endpointCIDRs
        )
    }
}
