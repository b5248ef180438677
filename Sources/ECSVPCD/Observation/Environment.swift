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
        agentObserver = AgentObserver(
            container: settings.agentContainer,
            docker: docker,
            introspection: AgentIntrospection(target: try HTTPTarget(url: settings.agentIntrospection)),
            settings: AgentSettingsReader(paths: settings.agentConfig),
            probePort: settings.probePort,
            supervisor: supervisor,
            logger: logger
        )
        metadata = try InstanceMetadataClient(endpoint: settings.imdsEndpoint)
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
        _ instance: InstanceContext, endpointAddresses: Set<IPAddress>
    ) async -> (AgentObservation, AgentAssessment) {
        let observation = await agentObserver.observe()
        // The websockets dial the cell their poll endpoint names (ecs-a-4.REGION.SUFFIX, ecs-t-4…), not ecs-a
        // itself: a NO_PROXY that lists only ecs-a.REGION.SUFFIX exempts neither, so a cell name is asked too.
        let cells = ["ecs-a-1", "ecs-t-1"].map { "\($0).\(instance.region).\(instance.dnsSuffix)" }
        let hosts = names(for: instance).filter { $0.service != .extra }.map(\.name) + cells
        let proxy = hosts.lazy.compactMap { agentProxy(forHost: $0, port: 443, settings: observation.settings) }.first
        let assessment = AgentAssessment(
            observation: observation,
            classifier: classifier(for: instance),
            proxy: proxy,
            region: instance.region,
            endpointAddresses: endpointAddresses
        )
        return (observation, assessment)
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
