import ECSVPCCore
import Foundation
import Testing

/// The SSM Inventory item against the SSM agent's own rules for custom inventory (aws/amazon-ssm-agent,
/// agent/plugins/inventory/gatherers/custom/customGatherer.go: validateTypeName, validateSchemaVersion,
/// validateContentEntryAttributes).
@Suite("SSM Inventory item")
struct InventoryItemTests {
    /// The file as the SSM agent's gatherer checks it; the problems found, none when it would be collected.
    static func agentProblems(_ data: Data) throws -> [String] {
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var problems: [String] = []
        let typeName = object["TypeName"] as? String ?? ""
        if typeName.isEmpty || typeName.count > 100 || !typeName.hasPrefix("Custom:") { problems.append("TypeName \(typeName)") }
        let version = object["SchemaVersion"] as? String ?? ""
        if version.range(of: #"^([0-9]{1,6})(\.[0-9]{1,6})$"#, options: .regularExpression) == nil { problems.append("SchemaVersion \(version)") }
        let entries: [[String: Any]]
        if let one = object["Content"] as? [String: Any] {
            entries = [one]
        } else if let many = object["Content"] as? [[String: Any]] {
            entries = many
        } else {
            return problems + ["Content is neither an object nor a list of objects"]
        }
        for entry in entries {
            if entry.count > 50 { problems.append("\(entry.count) attributes") }
            for (name, value) in entry {
                if name.isEmpty || name.utf8.count > 64 { problems.append("attribute name \(name)") }
                guard let text = value as? String else {
                    problems.append("\(name) is not a string")
                    continue
                }
                if text.utf8.count > 4096 { problems.append("\(name) is \(text.utf8.count) bytes") }
            }
        }
        return problems
    }

    @Test("the item keeps the SSM agent's rules: Custom: type name, schema version, string attributes within the limits")
    func keepsTheAgentsRules() throws {
        let item = InventoryItem(FleetReportingFixture.document(), version: "0.1.0")
        let data = try item.json()
        #expect(try Self.agentProblems(data) == [])
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["TypeName"] as? String == "Custom:ECSVPCD")
        #expect(object["SchemaVersion"] as? String == "1.0")
        #expect(Set(object.keys) == ["TypeName", "SchemaVersion", "Content"])
    }

    @Test("the content says health, configuration, routes, restart, findings, version and time")
    func content() {
        let history = [FleetReportingFixture.record(-7200, "systemd", "verified"), FleetReportingFixture.record(-60, "none", "moved-by-itself")]
        let content = InventoryItem(FleetReportingFixture.document(history: history), version: "0.1.0").content
        #expect(content["Health"] == "critical")
        #expect(content["Configuration"] == "partial")
        #expect(content["AgentRoute"] == "public")
        #expect(content["CellHostsRoute"] == "public")
        #expect(content["RestartState"] == "blocked")
        #expect(content["RestartReason"] == "an endpoint address refuses 443")
        #expect(content["LastRestartResult"] == "verified")
        #expect(content["LastRestartVia"] == "systemd")
        #expect(content["LastRestartAt"] == "2025-06-15T13:06:40Z")
        #expect(content["Findings"] == "endpoint-not-accepting,partial-configuration")
        #expect(content["Version"] == "0.1.0")
        #expect(content["ObservedAt"] == "2025-06-15T15:06:40Z")
        #expect(content["AgentOwnMove"] == "cache-expiry")
    }

    @Test("the readiness verdict for a subnet without internet access, where the related services are watched")
    func readiness() {
        var document = FleetReportingFixture.document()
        document.readiness = .notReady
        #expect(InventoryItem(document, version: "0.1.0").content["Readiness"] == "not-ready")
        document.readiness = .ready
        let ready = InventoryItem(document, version: "0.1.0")
        #expect(ready.content["Readiness"] == "ready")
        document.readiness = .notReady
        #expect(InventoryItem(document, version: "0.1.0").stateKey != ready.stateKey, "a new verdict rewrites the item")
    }

    @Test("agent on the endpoints, no agent section, no findings")
    func otherStates() {
        var document = FleetReportingFixture.document(connections: "vpc-endpoint", findings: [])
        document.agent?.cells = nil
        let onEndpoints = InventoryItem(document, version: "0.1.0").content
        #expect(onEndpoints["AgentRoute"] == "endpoints")
        #expect(onEndpoints["CellHostsRoute"] == "unknown")
        #expect(onEndpoints["Findings"] == "")
        #expect(onEndpoints["Readiness"] == "", "related services not watched: no verdict")
        #expect(onEndpoints["LastRestartResult"] == "")
        document.agent = nil
        document.restart = nil
        let starting = InventoryItem(document, version: "0.1.0").content
        #expect(starting["AgentRoute"] == "unknown")
        #expect(starting["RestartState"] == "")
        // The same attributes in every state: a query over the fleet gets the same columns from every instance.
        #expect(Set(starting.keys) == Set(onEndpoints.keys))
    }

    @Test("a value longer than 4,096 bytes is cut at a character boundary")
    func longValueCut() throws {
        var document = FleetReportingFixture.document()
        document.restart?.reason = String(repeating: "é", count: 3000)  // 6,000 bytes
        let item = InventoryItem(document, version: "0.1.0")
        let reason = try #require(item.content["RestartReason"])
        #expect(reason.utf8.count == 4096)
        #expect(reason.allSatisfy { $0 == "é" })
        #expect(try Self.agentProblems(try item.json()) == [])
    }

    @Test("the state key ignores the time only")
    func stateKey() {
        var later = FleetReportingFixture.document()
        later.updatedAt += 30
        let first = InventoryItem(FleetReportingFixture.document(), version: "0.1.0")
        #expect(first.stateKey == InventoryItem(later, version: "0.1.0").stateKey)
        later.findings.removeLast()
        #expect(first.stateKey != InventoryItem(later, version: "0.1.0").stateKey)
    }

    @Test("the path is INSTANCE_ID/inventory/custom/ECSVPCD.json")
    func path() {
        #expect(InventoryItem.relativePath(instanceID: "i-0123456789abcdef0") == "i-0123456789abcdef0/inventory/custom/ECSVPCD.json")
    }
}
