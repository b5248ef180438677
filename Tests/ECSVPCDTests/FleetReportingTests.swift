import ECSVPCCore
import Foundation
import Logging
import Synchronization
import Testing

@testable import ECSVPCD

/// The daemon's fleet files, written by `FleetReporter` as the daemon loop calls it: the SSM Inventory item and
/// the metrics textfile. Real files, real tmpfs mounts for a read-only directory and a full disk, and the format's
/// own validator (`promtool check metrics`, Debian's prometheus package).
@Suite("Fleet reporting files: SSM Inventory item and metrics textfile")
struct FleetReportingTests {
    static let instanceID = ControlFixture.document.instance.id ?? ""

    static func reporter(
        _ change: (inout Settings) -> Void, agentDataDirectory: String = "/nonexistent", inventoryRefresh: Duration = .seconds(3600)
    ) -> (FleetReporter, CapturingLogHandler.LogSink) {
        var settings = Settings()
        change(&settings)
        let sink = CapturingLogHandler.LogSink()
        let logger = Logger(label: "ecsvpcd.test.fleet") { _ in CapturingLogHandler(sink: sink) }
        let reporter = FleetReporter(
            settings: settings, logger: logger, agentDataDirectory: agentDataDirectory, inventoryRefresh: inventoryRefresh
        )
        return (reporter, sink)
    }

    static func itemPath(root: String) -> String {
        root + "/" + InventoryItem.relativePath(instanceID: instanceID)
    }

    /// The written item's `TypeName` and `Content`.
    static func readItem(_ path: String) throws -> (typeName: String, content: [String: String]) {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return (object["TypeName"] as? String ?? "", try #require(object["Content"] as? [String: String]))
    }

    @Test("auto writes the item only where the SSM agent's directory exists, and nothing under it before")
    func autoOnlyWithAgentDirectory() async throws {
        let directory = try TemporaryDirectory()
        let agentDirectory = directory.file("amazon/ssm")
        var (reporter, _) = Self.reporter({ $0.ssmInventory = .auto }, agentDataDirectory: agentDirectory)
        await reporter.report(ControlFixture.document, cycleSeconds: 0.1)
        #expect(!FileManager.default.fileExists(atPath: directory.file("amazon")))

        try FileManager.default.createDirectory(atPath: agentDirectory, withIntermediateDirectories: true)
        await reporter.report(ControlFixture.document, cycleSeconds: 0.1)
        let item = try Self.readItem(Self.itemPath(root: agentDirectory))
        #expect(item.typeName == "Custom:ECSVPCD")
        #expect(item.content["Health"] == "warning")
        #expect(item.content["AgentRoute"] == "public")
        #expect(item.content["RestartState"] == "pending")
        #expect(item.content["Version"] == ECSVPCDVersion.current)
        let custom = URL(fileURLWithPath: Self.itemPath(root: agentDirectory)).deletingLastPathComponent().path
        let left = try FileManager.default.contentsOfDirectory(atPath: custom)
        #expect(left == ["ECSVPCD.json"])
    }

    @Test("off, or no instance id yet: no item")
    func offOrNoInstance() async throws {
        let directory = try TemporaryDirectory()
        var (off, _) = Self.reporter({ $0.ssmInventory = .off }, agentDataDirectory: directory.path)
        await off.report(ControlFixture.document, cycleSeconds: 0.1)
        var unknown = ControlFixture.document
        unknown.instance.id = nil
        var (auto, _) = Self.reporter({ $0.ssmInventory = .directory(directory.path) })
        await auto.report(unknown, cycleSeconds: 0.1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test("the item is rewritten on a change of state, not on a new time alone")
    func rewrittenOnChange() async throws {
        let directory = try TemporaryDirectory()
        var (reporter, _) = Self.reporter { $0.ssmInventory = .directory(directory.path) }
        var document = ControlFixture.document
        await reporter.report(document, cycleSeconds: 0.1)
        let first = try Self.readItem(Self.itemPath(root: directory.path)).content["ObservedAt"]
        document.updatedAt += 30
        await reporter.report(document, cycleSeconds: 0.1)
        #expect(try Self.readItem(Self.itemPath(root: directory.path)).content["ObservedAt"] == first)
        document.agent?.connections = "vpc-endpoint"
        await reporter.report(document, cycleSeconds: 0.1)
        let changed = try Self.readItem(Self.itemPath(root: directory.path)).content
        #expect(changed["AgentRoute"] == "endpoints")
        #expect(changed["ObservedAt"] != first)
    }

    @Test("an unchanged item is rewritten once its refresh time has passed (an hour; 300 ms here)")
    func refreshedWhenUnchanged() async throws {
        let directory = try TemporaryDirectory()
        var (reporter, _) = Self.reporter({ $0.ssmInventory = .directory(directory.path) }, inventoryRefresh: .milliseconds(300))
        var document = ControlFixture.document
        await reporter.report(document, cycleSeconds: 0.1)
        let path = Self.itemPath(root: directory.path)
        let first = try Self.readItem(path).content["ObservedAt"]
        document.updatedAt += 1
        await reporter.report(document, cycleSeconds: 0.1)
        #expect(try Self.readItem(path).content["ObservedAt"] == first)
        try await Task.sleep(for: .milliseconds(400))
        document.updatedAt += 1
        await reporter.report(document, cycleSeconds: 0.1)
        #expect(try Self.readItem(path).content["ObservedAt"] != first)
    }

    @Test("a reload moves the files: the next cycle writes the new metrics path and inventory root")
    func reloadMovesFiles() async throws {
        let directory = try TemporaryDirectory()
        let (first, second) = (directory.file("one"), directory.file("two"))
        for root in [first, second] { try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true) }
        var (reporter, _) = Self.reporter {
            $0.ssmInventory = .directory(first)
            $0.metricsFile = first + "/ecsvpcd.prom"
        }
        await reporter.report(ControlFixture.document, cycleSeconds: 0.1)
        var settings = Settings()
        settings.ssmInventory = .directory(second)
        settings.metricsFile = second + "/ecsvpcd.prom"
        reporter.reconfigure(settings)
        await reporter.report(ControlFixture.document, cycleSeconds: 0.1)
        #expect(FileManager.default.fileExists(atPath: Self.itemPath(root: second)))
        #expect(FileManager.default.fileExists(atPath: second + "/ecsvpcd.prom"))
        // The counters go on: two cycles observed.
        #expect(try String(contentsOfFile: second + "/ecsvpcd.prom", encoding: .utf8).contains("ecsvpcd_cycle_duration_seconds_count 2"))
    }

    @Test("the item and the metrics file are replaced atomically: a reader never sees a torn file")
    func atomicReplacement() async throws {
        let directory = try TemporaryDirectory()
        let metricsPath = directory.file("textfile/ecsvpcd.prom")
        var (reporter, sink) = Self.reporter {
            $0.ssmInventory = .directory(directory.path)
            $0.metricsFile = metricsPath
        }
        let itemPath = Self.itemPath(root: directory.path)
        await reporter.report(ControlFixture.document, cycleSeconds: 0.1)
        let stop = Atomic(false)
        // A reader on its own thread, as the SSM agent and node_exporter read: every read parses whole.
        let reader = Task.detached {
            try await offThread { () -> (reads: Int, torn: [String]) in
                var reads = 0
                var torn: [String] = []
                while !stop.load(ordering: .relaxed) {
                    let item = try Data(contentsOf: URL(fileURLWithPath: itemPath))
                    if (try? JSONSerialization.jsonObject(with: item)) == nil { torn.append("item of \(item.count) bytes") }
                    let metrics = try String(contentsOfFile: metricsPath, encoding: .utf8)
                    if !metrics.hasSuffix("ecsvpcd_build_info{version=\"\(ECSVPCDVersion.current)\"} 1\n") {
                        torn.append("metrics of \(metrics.utf8.count) bytes")
                    }
                    reads += 1
                }
                return (reads, torn)
            }
        }
        var document = ControlFixture.document
        for round in 0..<300 {
            // Each round another state, of another length (short and long summaries).
            document.summary = String(repeating: "x", count: round % 2 == 0 ? 10 : 3000) + " \(round)"
            document.findings = (0..<(round % 7)).map { Finding(id: "f\($0)", severity: .warning, message: "m", hint: "h") }
            await reporter.report(document, cycleSeconds: 0.1)
        }
        stop.store(true, ordering: .relaxed)
        let (reads, torn) = try await reader.value
        #expect(reads > 0)
        #expect(torn.isEmpty, "\(torn.prefix(5))")
        #expect(sink.all.filter { $0.level >= .warning }.isEmpty, "\(sink.all.map(\.message))")
        #expect(try Self.readItem(itemPath).content["Summary"]?.hasSuffix(" 299") == true)
        // No temporary file left, and the metrics readable by node_exporter's own user.
        #expect(!FileManager.default.fileExists(atPath: itemPath + ".tmp"))
        #expect(!FileManager.default.fileExists(atPath: metricsPath + ".tmp"))
        let mode = try FileManager.default.attributesOfItem(atPath: metricsPath)[.posixPermissions] as? Int
        #expect(mode == 0o644)
    }

    @Test("a read-only directory and a full disk are each logged once; writing resumes when it can")
    func unwritableAndFullDisk() async throws {
        let directory = try TemporaryDirectory()
        let readOnly = directory.file("ro")
        let full = directory.file("full")
        for mountPoint in [readOnly, full] { try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true) }
        // Real file systems: a read-only tmpfs (EROFS even for root) and a 64 KiB tmpfs filled up (ENOSPC).
        try Self.mount(["-t", "tmpfs", "-o", "ro,size=64k", "ecsvpcd-test-ro", readOnly])
        defer { _ = try? runTool("/bin/umount", [readOnly]) }
        try Self.mount(["-t", "tmpfs", "-o", "size=64k", "ecsvpcd-test-full", full])
        defer { _ = try? runTool("/bin/umount", [full]) }
        let filler = try runTool("/bin/sh", ["-c", "head -c 1048576 /dev/zero > '\(full)/filler'"])
        #expect(filler.status != 0, "the 64 KiB tmpfs took 1 MiB: \(filler.output)")

        var (reporter, sink) = Self.reporter {
            $0.ssmInventory = .directory(readOnly)
            $0.metricsFile = full + "/ecsvpcd.prom"
        }
        var document = ControlFixture.document
        for round in 0..<5 {
            document.summary = "round \(round)"  // a new state each time: the item is due every time
            await reporter.report(document, cycleSeconds: 0.1)
        }
        let warnings = sink.all.filter { $0.level == .warning }.map(\.message)
        #expect(warnings.count == 2, "\(warnings)")
        #expect(warnings.contains { $0.hasPrefix("cannot write the SSM Inventory item") && $0.contains(readOnly) }, "\(warnings)")
        #expect(warnings.contains { $0.hasPrefix("cannot write the metrics file") && $0.contains("No space left on device") }, "\(warnings)")
        #expect(!FileManager.default.fileExists(atPath: full + "/ecsvpcd.prom.tmp"))

        // Space again: the next cycle writes it, and says so once.
        try FileManager.default.removeItem(atPath: full + "/filler")
        await reporter.report(document, cycleSeconds: 0.1)
        await reporter.report(document, cycleSeconds: 0.1)
        #expect(try String(contentsOfFile: full + "/ecsvpcd.prom", encoding: .utf8).contains("ecsvpcd_health 1"))
        #expect(sink.all.filter { $0.message.hasPrefix("metrics file written again") }.count == 1)
        #expect(sink.all.filter { $0.level == .warning }.count == 2)
    }

    @Test("promtool check metrics accepts the file, in every state of the known document")
    func promtoolAcceptsTheFile() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("ecsvpcd.prom")
        var (reporter, _) = Self.reporter { $0.metricsFile = path }
        var document = ControlFixture.document
        document.endpoints = try await Self.endpoints()
        document.findings = [
            Finding(id: "endpoint-not-accepting", severity: .critical, message: "m", hint: "h"),
            Finding(id: "endpoint-not-accepting", severity: .critical, message: "another name", hint: "h"),
            Finding(id: "agent-too-old", severity: .warning, message: "m", hint: "h"),
        ]
        document.restart?.history = [
            StatusDocument.RestartRecord(at: ControlFixture.updatedAt, via: "docker", result: "verified", reason: "r", detail: nil)
        ]
        for (cycle, seconds) in [0.004, 0.3, 95, 400, 0.02].enumerated() {
            if cycle == 3 { document.findings = [] }
            // The document served before the first observation: no endpoints, agent, restart or findings.
            if cycle == 4 { document = StatusDocument.starting(now: ControlFixture.updatedAt) }
            await reporter.report(document, cycleSeconds: seconds)
            let check = try runTool("/bin/sh", ["-c", "promtool check metrics < '\(path)'"])
            let written = try String(contentsOfFile: path, encoding: .utf8)
            #expect(check.status == 0, "promtool: \(check.output)\n\(written)")
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains(#"ecsvpcd_restarts_total{via="docker",result="verified"} 1"#))
        #expect(text.contains(#"ecsvpcd_cycle_duration_seconds_count 5"#))
    }

    /// Three names with addresses, two of them probed open, one refused.
    static func endpoints() async throws -> [EndpointReport] {
        func report(_ service: ECSService, _ name: String, _ route: EndpointRoute, _ addresses: [(String, ProbeOutcome)]) -> EndpointReport {
            EndpointReport(
                service: service, name: name, route: route, placement: nil,
                resolution: ResolutionReport(NameResolution(name: name, outcome: .answered)),
                addresses: addresses.compactMap { text, probe in
                    IPAddress(text).map { AddressReport(address: $0, class: .vpc, ttl: 60, probe: probe) }
                },
                amazonDNSRoute: nil
            )
        }
        return [
            report(.ecsAgent, "ecs-a.us-east-1.amazonaws.com", .vpcEndpoint, [("10.0.1.11", .open(milliseconds: 0.3)), ("fd00::11", .unreachable("no route"))]),
            report(.ecsTelemetry, "ecs-t.us-east-1.amazonaws.com", .vpcEndpoint, [("10.0.1.12", .refused)]),
            report(.ecs, "ecs.us-east-1.amazonaws.com", .mixed, [("10.0.1.13", .open(milliseconds: 0.2)), ("54.239.1.2", .timeout)]),
        ]
    }

    static func mount(_ arguments: [String]) throws {
        let result = try runTool("/bin/mount", arguments)
        guard result.status == 0 else { throw HarnessFailure("mount \(arguments.joined(separator: " ")): \(result.output)") }
    }
}
