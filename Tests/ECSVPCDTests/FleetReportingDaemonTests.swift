import ECSVPCCore
import ECSVPCD
import Foundation
import Testing

/// `ecsvpcd run` writing its fleet files as the agent moves onto the endpoints, read the way fleet tools read
/// them: the SSM Inventory item as JSON, the metrics through a real node_exporter (Debian's
/// prometheus-node-exporter, on a loopback address, only its textfile collector on) scraped over HTTP.
@Suite("ecsvpcd run fleet files: SSM Inventory item and node_exporter textfile")
struct FleetReportingDaemonTests {
    @Test("the daemon's item and metrics follow the restart, and node_exporter serves the ecsvpcd_ series")
    func daemonFilesThroughNodeExporter() async throws {
        let scenario = try await DaemonScenario()
        defer { scenario.stop() }
        let ssmRoot = scenario.directory.file("ssm")
        let textfiles = scenario.directory.file("textfile")
        try FileManager.default.createDirectory(atPath: ssmRoot, withIntermediateDirectories: true)
        try scenario.writeConfig([
            "ECSVPCD_SSM_INVENTORY": ssmRoot,
            "ECSVPCD_METRICS_FILE": textfiles + "/ecsvpcd.prom",
        ])
        try await scenario.waitForAgentConnection(to: scenario.publicAddresses[0])
        try await scenario.startDaemon()
        let itemPath = ssmRoot + "/" + InventoryItem.relativePath(instanceID: scenario.instanceID)
        let metricsPath = textfiles + "/ecsvpcd.prom"

        try await scenario.waitUntil("the item and the metrics say the agent is on public endpoints") {
            (try? Self.item(itemPath))?["AgentRoute"] == "public"
                && Self.metrics(metricsPath).contains(#"ecsvpcd_configuration{state="public"} 1"#)
        }
        try await scenario.route(.vpc)
        let record = try await scenario.waitForRestart()
        #expect(record.result == "verified", "\(record)\n\(scenario.log)")
        try await scenario.waitUntil("the item and the metrics say the agent is on the endpoints, restarted") {
            let item = (try? Self.item(itemPath)) ?? [:]
            return item["AgentRoute"] == "endpoints" && item["LastRestartResult"] == "verified"
                && Self.metrics(metricsPath).contains(#"ecsvpcd_restarts_total{via="docker",result="verified"} 1"#)
        }
        let item = try Self.item(itemPath)
        #expect(item["Configuration"] == "vpc-endpoints")
        #expect(item["LastRestartVia"] == "docker")
        #expect(item["Version"] == ECSVPCDVersion.current)
        let text = Self.metrics(metricsPath)
        #expect(text.contains("ecsvpcd_agent_on_endpoints 1"))
        #expect(text.contains(#"ecsvpcd_configuration{state="vpc-endpoints"} 1"#))
        let ecsA = #"ecsvpcd_endpoint_tcp_open{service="ecs-agent",name="\#(DaemonScenario.ecsA)",address="\#(scenario.vpcAddresses[0])"} 1"#
        #expect(text.contains(ecsA), "\(text)")
        let check = try runTool("/bin/sh", ["-c", "promtool check metrics < '\(metricsPath)'"])
        #expect(check.status == 0, "\(check.output)")

        // node_exporter reads the directory as its textfile collector, and serves what it read.
        let exporter = try await NodeExporter(textfileDirectory: textfiles)
        defer { exporter.stop() }
        let scraped = try await exporter.scrape()
        #expect(scraped.contains("ecsvpcd_agent_on_endpoints 1"), "\(scraped)")
        #expect(scraped.contains(#"ecsvpcd_build_info{version="\#(ECSVPCDVersion.current)"} 1"#))
        // node_exporter serves the labels in name order.
        let servedECSA = #"ecsvpcd_endpoint_tcp_open{address="\#(scenario.vpcAddresses[0])",name="\#(DaemonScenario.ecsA)",service="ecs-agent"} 1"#
        #expect(scraped.contains(servedECSA), "\(scraped)")
        #expect(scraped.contains("node_textfile_scrape_error 0"), "\(scraped)")
        #expect(!scraped.contains("node_cpu_seconds_total"), "only the textfile collector runs")
    }

    static func item(_ path: String) throws -> [String: String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        guard object?["TypeName"] as? String == "Custom:ECSVPCD" else { throw HarnessFailure("not the item: \(object ?? [:])") }
        return object?["Content"] as? [String: String] ?? [:]
    }

    static func metrics(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }
}

/// Debian's prometheus-node-exporter on a loopback address of its own, every collector off but the textfile one.
final class NodeExporter: @unchecked Sendable {
    let process: PeerProcess
    let address: IPAddress
    static let port = 9100

    init(textfileDirectory: String) async throws {
        address = Loopback.next(in: CIDR("127.91.0.0/16")!)
        process = try PeerProcess(
            "/usr/bin/prometheus-node-exporter",
            [
                "--web.listen-address=\(address):\(Self.port)", "--collector.disable-defaults", "--collector.textfile",
                "--collector.textfile.directory=\(textfileDirectory)",
            ],
            name: "node_exporter"
        )
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if (try? await scrape()) != nil { return }
            guard process.process.isRunning else { throw HarnessFailure("node_exporter exited with \(process.process.terminationStatus)") }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessFailure("node_exporter did not answer on \(address):\(Self.port) within 20 s")
    }

    func scrape() async throws -> String {
        let response = try await HTTPClient(maxBodyBytes: 8 << 20).send(
            "GET", .tcp(host: address.description, port: Self.port), path: "/metrics", timeout: .seconds(5))
        guard response.status == 200 else { throw HarnessFailure("node_exporter answered \(response.status)") }
        return String(decoding: response.body, as: UTF8.self)
    }

    func stop() { process.stop() }
}
