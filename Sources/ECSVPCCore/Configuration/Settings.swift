/// Whether ecsvpcd may restart the agent or only report.
public enum RestartMode: String, Sendable, Codable {
    /// Restart at this instance's slot unless the agent moves to the endpoints by itself before it.
    case auto
    /// Restart at the slot, whatever the agent would do by itself.
    case always
    /// Detect and report only.
    case never
}

/// Which way to restart the agent: decided per restart (`auto`) or forced.
public enum RestartVia: String, Sendable, Codable {
    case auto
    case systemd
    case docker
}

/// Where the daemon writes its Systems Manager Inventory item (`INSTANCE_ID/inventory/custom/ECSVPCD.json`).
public enum SSMInventoryRoot: Hashable, Sendable {
    /// Under the SSM agent's data directory, and only where it exists (an instance without the SSM agent gets no file).
    case auto
    case off
    /// Under this directory (the SSM agent's data directory elsewhere), which must exist.
    case directory(String)

    /// The SSM agent's data directory (`appconfig.DefaultDataStorePath` of aws/amazon-ssm-agent on Linux).
    public static let agentDataDirectory = "/var/lib/amazon/ssm"
}

/// Every setting of ecsvpcd, after the file and the environment were merged and checked.
///
/// Values nil here are learned at run time (instance metadata, resolv.conf).
public struct Settings: Hashable, Sendable {
    public var region: String?
    public var dnsSuffix: String?
    public var vpcCIDRs: [CIDR]?
    public var endpointCIDRs: [CIDR] = AddressClassifier.defaultEndpointCIDRs
    public var extraNames: [String] = []
    /// The related endpoints to watch (`ECSVPCD_SERVICES`): `auto` watches what the task containers use and the
    /// Systems Manager set.
    public var services: ServiceSelection = .automatic
    /// ECR registry accounts to watch besides those of the task containers' images (`ECSVPCD_ECR_ACCOUNTS`).
    public var ecrAccounts: [String] = []
    public var imdsEndpoint: String = "http://169.254.169.254"
    public var resolvConf: String = "/etc/resolv.conf"
    /// nil (`off`) skips the hosts file.
    public var hostsFile: String? = "/etc/hosts"
    /// nil: the nameservers of `resolvConf`.
    public var dnsServers: [HostPort]?
    /// nil (`off`): no comparison with the Amazon-provided resolver.
    public var amazonDNS: HostPort? = HostPort(address: .v4(0xA9FE_A9FD), port: 53)
    public var probePort: Int = 443
    public var probeTimeout: Duration = .seconds(2)
    public var interval: Duration = .seconds(30)
    public var stableProbes: Int = 3
    public var dockerHost: String = "unix:///var/run/docker.sock"
    public var agentContainer: String = "ecs-agent"
    public var agentUnit: String = "ecs.service"
    public var agentIntrospection: String = "http://127.0.0.1:51678"
    /// The agent's settings files: ecs-init's environment files, then the agent's JSON configuration.
    public var agentConfig: [String] = ["/var/lib/ecs/ecs.config", "/etc/ecs/ecs.config", "/etc/ecs/ecs.config.json"]
    /// The agent's log, where it names the cell hosts it dials; nil (`off`): not read.
    public var agentLog: String? = "/var/log/ecs/ecs-agent.log"
    public var restart: RestartMode = .auto
    public var restartVia: RestartVia = .auto
    public var restartWindow: Duration = .seconds(600)
    public var restartCooldown: Duration = .seconds(3600)
    public var restartBudget: Int = 3
    public var stateDir: String = "/var/lib/ecsvpcd"
    public var runtimeDir: String = "/run/ecsvpcd"
    public var statusGroup: String = "adm"
    public var log: String = "auto"
    /// The Systems Manager Inventory item's root directory.
    public var ssmInventory: SSMInventoryRoot = .auto
    /// The Prometheus textfile (node_exporter's textfile collector) written each cycle; nil: none.
    public var metricsFile: String?

    public init() {}

    /// The default configuration file.
    public static let defaultPath = "/etc/ecsvpcd/ecsvpcd.conf"

    /// The control socket inside the runtime directory.
    public var controlSocket: String { runtimeDir + "/control.sock" }
    /// The state file inside the state directory.
    public var stateFile: String { stateDir + "/state.json" }
}
