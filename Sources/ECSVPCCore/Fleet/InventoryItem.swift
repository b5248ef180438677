import FoundationEssentials

/// One instance's answer as a Systems Manager Inventory custom item, `Custom:ECSVPCD`: the SSM agent collects it
/// with the rest of the instance's inventory, so a fleet's progress is one `aws ssm get-inventory` or one Athena
/// query over a Resource Data Sync away, with no server of ecsvpcd's.
///
/// The rules it keeps are the SSM agent's (aws/amazon-ssm-agent,
/// `agent/plugins/inventory/gatherers/custom/customGatherer.go`) and the API's (`InventoryItem` in the
/// Systems Manager API reference; "Working with custom inventory" in the user guide):
/// - a `.json` file in `/var/lib/amazon/ssm/INSTANCE_ID/inventory/custom/`, at most 20 such files;
/// - `TypeName` starts with `Custom:`, at most 100 characters; `SchemaVersion` matches `^[0-9]{1,6}\.[0-9]{1,6}$`;
/// - `Content` is one object or a list of objects (up to 10,000), each of at most 50 attributes, names of 1–64
///   characters, and every value a string (no numbers, booleans or null) of at most 4,096 characters.
///
/// `Content` is one object here, so that a query gets one row per instance; the findings are one comma list.
public struct InventoryItem: Hashable, Sendable, Encodable {
    public static let typeName = "Custom:ECSVPCD"
    public static let schemaVersion = "1.0"
    /// The file the SSM agent reads, under its data directory (`/var/lib/amazon/ssm`).
    public static func relativePath(instanceID: String) -> String {
        "\(instanceID)/inventory/custom/ECSVPCD.json"
    }

    /// The limits of the SSM agent's custom inventory gatherer.
    public static let attributeCountLimit = 50
    public static let attributeNameLengthLimit = 64
    public static let attributeValueLengthLimit = 4096

    /// Attribute name → string value.
    public var content: [String: String]

    /// The attribute that changes with every observation; left out of `stateKey`.
    public static let timeAttribute = "ObservedAt"

    public init(content: [String: String]) {
        self.content = content
    }

    /// The item for a status document: health, configuration, the agent's route and its cell hosts', the restart
    /// state and the last restart's result, the findings' ids, the readiness verdict for a subnet without internet
    /// access, ecsvpcd's version and the observation's time.
    public init(_ document: StatusDocument, version: String) {
        let last = document.restart?.history.last { $0.result != StatusDocument.RestartRecord.movedByItself }
        var content: [String: String] = [
            "Health": document.health.rawValue,
            "Summary": document.summary,
            "Configuration": document.configuration.rawValue,
            "AgentRoute": Self.agentRoute(document.agent),
            "CellHostsRoute": Self.cellHostsRoute(document.agent?.cells),
            "AgentVersion": document.agent?.version ?? "",
            "AgentOwnMove": document.agent?.ownMove?.because.rawValue ?? "",
            "RestartState": document.restart?.state ?? "",
            "RestartReason": document.restart?.reason ?? "",
            "RestartBudgetLeft": document.restart.map { String($0.budgetLeft) } ?? "",
            "LastRestartResult": last?.result ?? "",
            "LastRestartVia": last?.via ?? "",
            "LastRestartAt": last.map { Self.time($0.at) } ?? "",
            "Findings": document.findings.map(\.id).uniqued().joined(separator: ","),
            // "" where the related services are not watched (ECSVPCD_SERVICES=off).
            "Readiness": document.readiness?.rawValue ?? "",
            "Region": document.instance.region,
            "Version": version,
            Self.timeAttribute: Self.time(document.updatedAt),
        ]
        for (name, value) in content where value.utf8.count > Self.attributeValueLengthLimit {
            content[name] = Self.truncated(value, toUTF8Bytes: Self.attributeValueLengthLimit)
        }
        self.content = content
    }

    /// Everything but the time: the item is rewritten when this changes (and at least hourly).
    public var stateKey: String {
        content.filter { $0.key != Self.timeAttribute }.sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value)" }.joined(separator: "\n")
    }

    /// `endpoints`, `public` or `unknown`: where the agent's ECS connections go.
    static func agentRoute(_ agent: StatusDocument.Agent?) -> String {
        switch agent?.connections {
        case "vpc-endpoint": "endpoints"
        case "public": "public"
        default: "unknown"
        }
    }

    /// `endpoints`, `public`, `mixed` or `unknown`: how the cell hosts the agent dials (its log) resolve.
    static func cellHostsRoute(_ cells: [AgentCellReport]?) -> String {
        let routes = Set((cells ?? []).filter(\.isWebsocket).map(\.route))
        guard !routes.isEmpty else { return "unknown" }
        if routes == [.vpcEndpoint] { return "endpoints" }
        if routes == [.public] { return "public" }
        return routes.contains(.vpcEndpoint) || routes.contains(.public) ? "mixed" : "unknown"
    }

    static func time(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    static func truncated(_ value: String, toUTF8Bytes limit: Int) -> String {
        var result = ""
        var bytes = 0
        for character in value {
            let size = character.utf8.count
            if bytes + size > limit { break }
            result.append(character)
            bytes += size
        }
        return result
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "SchemaVersion"
        case typeName = "TypeName"
        case content = "Content"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.schemaVersion, forKey: .schemaVersion)
        try container.encode(Self.typeName, forKey: .typeName)
        try container.encode(content, forKey: .content)
    }

    /// The file's bytes: compact JSON with sorted keys.
    public func json() throws -> Data {
        try StatusDocument.encoder(pretty: false).encode(self)
    }
}

extension Sequence where Element: Hashable {
    /// The elements in their order, each once.
    func uniqued() -> [Element] {
        var seen: Set<Element> = []
        return filter { seen.insert($0).inserted }
    }
}
