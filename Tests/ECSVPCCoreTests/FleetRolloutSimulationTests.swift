import ECSVPCCore
import Foundation
import Testing

/// Two ways to move 10,000 agents onto the endpoints, simulated with seeded randomness and printed for
/// `benchmarks/fleet-rollout`: the daemons acting on their own (the core's `RestartPlanner`, window 10 min) and
/// Systems Manager Run Command sending `ecsvpcd rollout` with rate control (concurrency 10 %, MaxErrors 1 %).
/// Each runs once with working endpoints and once with a bad endpoint: 443 dropped in one Availability Zone of
/// three, where `rollout` exits 2 and the daemons block, neither restarting.
@Suite("Fleet rollout simulation: daemons' own slots against Systems Manager rate control")
struct FleetRolloutSimulationTests {
    static let instanceCount = 10_000
    static let zones = 3
    /// The Availability Zone whose endpoint drops 443 in the bad-endpoint runs.
    static let badZone = 2

    struct Instance {
        var id: String
        var zone: Int
    }

    /// Seeded ids, each in zone `index % 3`.
    static func fleet() -> [Instance] {
        var rng = SplitMix64(seed: 0xf1ee_7011)
        return FleetSimulationTests.instanceIDs(count: instanceCount, using: &rng).enumerated().map {
            Instance(id: $1, zone: $0 % zones)
        }
    }

    /// What a run did: restart times (seconds after the endpoints were created) and the instances left alone.
    struct Result {
        var restarts: [TimeInterval] = []
        /// Instances that saw the bad endpoint and refused (daemon: blocked; Run Command: exit 2).
        var refused = 0
        /// Run Command only: invocations started, and targets never sent the command.
        var invocations = 0
        var notStarted = 0
        var stoppedAt: TimeInterval?
        /// When the last invocation ended (Run Command), or the last restart (daemons).
        var finishedAt: TimeInterval = 0
        /// Daemons: each instance's SSM Inventory item at the end of the run.
        var inventory: [InventoryItem] = []
        /// Run Command: each target's invocation as `list-command-invocations --details` shows it.
        var invocationRecords: [SimulatedInvocation] = []

        var peakPerMinute: Int { Self.peak(restarts.sorted(), over: 60) }
        var peakPer10Seconds: Int { Self.peak(restarts.sorted(), over: 10) }

        /// The most restarts in any `span` seconds (sliding window).
        static func peak(_ times: [TimeInterval], over span: TimeInterval) -> Int {
            var best = 0
            var lower = 0
            for upper in times.indices {
                while times[upper] - times[lower] >= span { lower += 1 }
                best = max(best, upper - lower + 1)
            }
            return best
        }
    }

    // MARK: The daemons on their own

    /// Every instance's daemon, observing every 30 s from a random phase, its DNS seeing the endpoints within
    /// 60 s of their creation, 3 stable probes, a 10-minute window; the agent reconnects through the endpoints
    /// after its restart.
    static func daemons(badZone: Int?) -> Result {
        let interval: TimeInterval = 30
        let policy = RestartPolicy(mode: .auto, stableProbes: 3, window: .seconds(600), cooldown: .seconds(3600), budget: 3)
        let created = Date(timeIntervalSince1970: 1_750_000_000)
        var rng = SplitMix64(seed: 0xda3_3011)
        var result = Result()
        for instance in fleet() {
            let planner = RestartPlanner(policy: policy, seed: instance.id)
            let accepting = instance.zone != badZone
            var ledger = RestartLedger()
            var agent = AgentFacts(
                exists: true, running: true, startedAt: created.addingTimeInterval(-86400), connections: .public,
                viaProxy: false
            )
            let seesEndpoints = Double.random(in: 0..<60, using: &rng)
            var blocked = false
            var last = RestartDecision.idle(reason: "not observed yet")
            var t = Double.random(in: 0..<interval, using: &rng)
            while t < 3600 {
                let now = created.addingTimeInterval(t)
                let decision = planner.decide(
                    now: now, configuration: t >= seesEndpoints ? .vpcEndpoints : .public,
                    configurationKey: PlannerHarness.endpointKey, endpointsAcceptConnections: accepting, agent: agent,
                    ledger: &ledger
                )
                if case .restart(let reason) = decision {
                    result.restarts.append(t)
                    ledger.history.append(StatusDocument.RestartRecord(
                        at: now, via: "systemd", result: "verified", reason: reason, detail: nil))
                    agent = AgentFacts(exists: true, running: true, startedAt: now, connections: .vpcEndpoint, viaProxy: false)
                }
                if case .blocked = decision { blocked = true }
                last = decision
                t += interval
            }
            if blocked { result.refused += 1 }
            result.inventory.append(InventoryItem(
                Self.document(instance, accepting: accepting, agent: agent, decision: last, ledger: ledger, at: created.addingTimeInterval(3600)),
                version: "0.1.0"
            ))
        }
        result.finishedAt = result.restarts.max() ?? 0
        return result
    }

    // MARK: Systems Manager Run Command

    /// `aws ssm send-command --max-concurrency 10% --max-errors 1%` of the rollout document, sent when the
    /// endpoints are in effect: up to 1,000 invocations at a time, targets in an arbitrary (seeded) order; each
    /// waits a random time up to `maxWait`, observes for a second, restarts and verifies (30–90 s in all), or,
    /// seeing the bad endpoint, exits 2 after its 2 s probe timeout (2–3 s). Once more than 100 invocations have
    /// failed, no new ones start; those running finish.
    static func runCommand(badZone: Int?, maxWait: TimeInterval = 0) -> Result {
        let concurrency = instanceCount / 10
        let maxErrors = instanceCount / 100
        var rng = SplitMix64(seed: 0x55e_3011)
        var targets = fleet()
        targets.shuffle(using: &rng)
        var result = Result()
        var running = MinHeap()
        var errors = 0
        var next = 0
        var now: TimeInterval = 0

        func launch(at start: TimeInterval) {
            let instance = targets[next]
            next += 1
            result.invocations += 1
            let wait = maxWait > 0 ? Double.random(in: 0...maxWait, using: &rng) : 0
            if instance.zone == badZone {
                running.push(start + wait + Double.random(in: 2...3, using: &rng), failed: true)
                result.invocationRecords.append(.rollout(instance, line: Self.noUsableEndpointsLine(instance), code: 2))
            } else {
                result.restarts.append(start + wait + 1)
                running.push(start + wait + Double.random(in: 30...90, using: &rng), failed: false)
                result.invocationRecords.append(.rollout(instance, line: Self.restartedLine(instance), code: 0))
            }
        }

        while next < targets.count, running.count < concurrency { launch(at: now) }
        while let (end, failed) = running.pop() {
            now = end
            result.finishedAt = end
            if failed {
                errors += 1
                result.refused += 1
            }
            if errors > maxErrors {
                if result.stoppedAt == nil { result.stoppedAt = now }
                continue
            }
            if next < targets.count { launch(at: now) }
        }
        result.notStarted = targets.count - next
        // Targets the command never reached once MaxErrors stopped it: Cancelled, no output.
        for instance in targets[next...] { result.invocationRecords.append(.cancelled(instance)) }
        return result
    }

    // MARK: What an operator reads

    /// The status document a daemon of the simulation would publish at the end: the endpoints confirmed, the
    /// agent's connections, the last decision and the history, and `endpoint-not-accepting` in the bad zone.
    static func document(
        _ instance: Instance, accepting: Bool, agent: AgentFacts, decision: RestartDecision, ledger: RestartLedger, at: Date
    ) -> StatusDocument {
        StatusDocument(
            source: "daemon", health: accepting ? .ok : .critical,
            summary: accepting ? "vpc-endpoints 3/3 in VPC, 443 open; agent via endpoint; no restart pending"
                : "CRITICAL ecs-a in VPC but 443 times out (security group?); agent via public endpoints; restart blocked",
            instance: .init(id: instance.id, region: "us-east-1", dnsSuffix: "amazonaws.com", vpcCIDRs: [], endpointCIDRs: []),
            endpoints: [], configuration: .vpcEndpoints,
            agent: .init(
                running: agent.running, started: agent.startedAt, version: "Amazon ECS Agent - v1.105.1 (a8b3e7d3)",
                cluster: "prod", connections: agent.connections.rawValue, connectionsDetail: nil, remoteAddresses: [],
                supervisor: "systemd", supervisorDetail: nil, proxy: nil
            ),
            restart: .init(
                state: decision.state, reason: decision.reason, notBefore: nil,
                budgetLeft: 3 - ledger.restartsInLastDay(before: at).count, history: ledger.history
            ),
            findings: accepting ? [] : [Self.notAccepting(instance)],
            updatedAt: at
        )
    }

    static func notAccepting(_ instance: Instance) -> Finding {
        Finding(
            id: "endpoint-not-accepting", severity: .critical,
            message: "ecs-a.us-east-1.amazonaws.com: 10.0.\(instance.zone).11 (vpc) does not accept TCP 443: timed out",
            hint: "Check the endpoint's security group: it must allow inbound TCP 443 from this instance's subnet."
        )
    }

    /// `ecsvpcd rollout --json`'s lines, as `Rollout.Outcome.jsonLine()` writes them (field order included).
    static func restartedLine(_ instance: Instance) -> String {
        #"{"result":"restarted","exitCode":0,"message":"restarted via systemd and verified: connected to 10.0.\#(instance.zone).11","instanceID":"\#(instance.id)","configuration":"vpc-endpoints","restart":{"at":"2025-06-15T15:07:12Z","detail":"connected to 10.0.\#(instance.zone).11","reason":"the agent still uses the public endpoints (ecsvpcd rollout)","result":"verified","via":"systemd"},"findings":[]}"#
    }

    static func noUsableEndpointsLine(_ instance: Instance) -> String {
        let finding = String(decoding: (try? StatusDocument.encoder(pretty: false).encode(notAccepting(instance))) ?? Data(), as: UTF8.self)
        return #"{"result":"no-usable-endpoints","exitCode":2,"message":"no usable endpoints here: CRITICAL ecs-a in VPC but 443 times out (security group?)","instanceID":"\#(instance.id)","configuration":"vpc-endpoints","findings":[\#(finding)]}"#
    }

    /// One invocation in the API's shape (Systems Manager API reference, `CommandInvocation`, `CommandPlugin`).
    struct SimulatedInvocation: Encodable {
        static let commandID = "5e1f0c2a-9d3b-4a6e-8f70-1b2c3d4e5f60"
        var CommandId = Self.commandID
        var InstanceId: String
        var DocumentName = "ecsvpcd-rollout"
        var RequestedDateTime = "2025-06-15T15:06:40.000000+00:00"
        var Status: String
        var StatusDetails: String
        var CommandPlugins: [Plugin]

        struct Plugin: Encodable {
            var Name = "rollout"
            var Status: String
            var StatusDetails: String
            var ResponseCode: Int
            var Output: String
        }

        static func rollout(_ instance: Instance, line: String, code: Int) -> SimulatedInvocation {
            let status = code == 0 ? "Success" : "Failed"
            let output = line + "\n\n----------ERROR-------\necsvpcd rollout exited \(code)\n"
            return SimulatedInvocation(
                InstanceId: instance.id, Status: status, StatusDetails: status,
                CommandPlugins: [Plugin(Status: status, StatusDetails: status, ResponseCode: code, Output: output)]
            )
        }

        static func cancelled(_ instance: Instance) -> SimulatedInvocation {
            SimulatedInvocation(
                InstanceId: instance.id, Status: "Cancelled", StatusDetails: "Cancelled",
                CommandPlugins: [Plugin(Status: "Cancelled", StatusDetails: "Cancelled", ResponseCode: -1, Output: "")]
            )
        }
    }

    /// `aws ssm list-command-invocations --details --output json` for a run.
    static func listCommandInvocations(_ result: Result) throws -> [UInt8] {
        struct List: Encodable { var CommandInvocations: [SimulatedInvocation] }
        return Array(try JSONEncoder().encode(List(CommandInvocations: result.invocationRecords)))
    }

    /// What an Athena query over a Resource Data Sync of the items answers: instances by the agent's route, and
    /// by finding.
    static func inventorySummary(_ items: [InventoryItem]) -> (byRoute: [String: Int], byFinding: [String: Int]) {
        var byRoute: [String: Int] = [:]
        var byFinding: [String: Int] = [:]
        for item in items {
            byRoute[item.content["AgentRoute"] ?? "", default: 0] += 1
            for id in (item.content["Findings"] ?? "").split(separator: ",") { byFinding[String(id), default: 0] += 1 }
        }
        return (byRoute, byFinding)
    }

    /// A binary min-heap of invocation end times.
    struct MinHeap {
        private var items: [(TimeInterval, Bool)] = []
        var count: Int { items.count }

        mutating func push(_ end: TimeInterval, failed: Bool) {
            items.append((end, failed))
            var child = items.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard items[child].0 < items[parent].0 else { break }
                items.swapAt(child, parent)
                child = parent
            }
        }

        mutating func pop() -> (TimeInterval, Bool)? {
            guard !items.isEmpty else { return nil }
            items.swapAt(0, items.count - 1)
            let top = items.removeLast()
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < items.count, items[left].0 < items[smallest].0 { smallest = left }
                if right < items.count, items[right].0 < items[smallest].0 { smallest = right }
                if smallest == parent { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
            return top
        }
    }

    static func line(_ mode: String, _ result: Result) -> String {
        func minutes(_ t: TimeInterval) -> String { String(format: "%.1f min", t / 60) }
        var text = "\(mode): \(result.restarts.count) restarts"
        if result.invocations > 0 { text += ", \(result.invocations) invocations" }
        text += ", \(result.refused) refused"
        if result.invocations > 0 { text += ", \(result.notStarted) not started" }
        text += result.invocations > 0 ? "; last invocation ended at " : "; last restart at "
        text += "\(minutes(result.finishedAt)); peak \(result.peakPerMinute)/min, \(result.peakPer10Seconds)/10 s"
        if let stopped = result.stoppedAt { text += "; MaxErrors stopped it at \(String(format: "%.1f s", stopped))" }
        return text
    }

    @Test("prints time to full rollout, peak restarts and the spread of a bad endpoint for both modes")
    func compareModes() throws {
        let daemons = Self.daemons(badZone: nil)
        let daemonsBad = Self.daemons(badZone: Self.badZone)
        let ssm = Self.runCommand(badZone: nil)
        let ssmWait = Self.runCommand(badZone: nil, maxWait: 60)
        let ssmBad = Self.runCommand(badZone: Self.badZone)
        print("fleet-rollout: \(Self.instanceCount) instances in \(Self.zones) zones; bad endpoint = 443 dropped in one zone")
        print("fleet-rollout: " + Self.line("daemons, window 10m              ", daemons))
        print("fleet-rollout: " + Self.line("run command 10%/1%               ", ssm))
        print("fleet-rollout: " + Self.line("run command 10%/1%, MaxWait 60s  ", ssmWait))
        print("fleet-rollout: " + Self.line("daemons, bad endpoint            ", daemonsBad))
        print("fleet-rollout: " + Self.line("run command, bad endpoint        ", ssmBad))

        let good = Self.instanceCount - Self.instanceCount / Self.zones
        // Working endpoints: everyone restarts once, the daemons within their 10-minute window plus confirmation.
        #expect(daemons.restarts.count == Self.instanceCount)
        let bound: TimeInterval = 60 + 30 + 2 * 30 + 600 + 30
        #expect(daemons.finishedAt <= bound)
        #expect(ssm.restarts.count == Self.instanceCount && ssm.notStarted == 0 && ssm.stoppedAt == nil)
        // The daemons spread evenly; Run Command starts a tenth of the fleet at once unless MaxWait spreads it.
        #expect(daemons.peakPer10Seconds < ssm.peakPer10Seconds)
        #expect(ssmWait.peakPer10Seconds < ssm.peakPer10Seconds)
        // Bad endpoint: nobody restarts into it. The daemons block there and carry on elsewhere; Run Command
        // stops the whole rollout after a little more than one batch.
        #expect(daemonsBad.restarts.count == good)
        #expect(daemonsBad.refused == Self.instanceCount - good)
        #expect(ssmBad.stoppedAt != nil)
        #expect(ssmBad.refused > Self.instanceCount / 100)
        #expect(ssmBad.invocations < 2 * Self.instanceCount / 10)
        #expect(ssmBad.restarts.count + ssmBad.refused == ssmBad.invocations)

        // What the operator sees of the bad-zone run: `ecsvpcd rollout-report` on the command's invocations,
        // and the inventory items' summary.
        let report = try RolloutReport.make(from: try Self.listCommandInvocations(ssmBad))
        for line in report.table(idsPerReason: 5).split(separator: "\n", omittingEmptySubsequences: false) {
            print("fleet-rollout: report: \(line)")
        }
        #expect(report.instances == Self.instanceCount)
        #expect(report.counts["restarted"] == ssmBad.restarts.count)
        #expect(report.counts["no-usable-endpoints"] == ssmBad.refused)
        #expect(report.counts["not-reached"] == ssmBad.notStarted)
        #expect(report.exitCode == 1)
        let everyone = try RolloutReport.make(from: try Self.listCommandInvocations(ssm))
        #expect(everyone.exitCode == 0 && everyone.counts["restarted"] == Self.instanceCount)

        #expect(daemonsBad.inventory.count == Self.instanceCount)
        for item in daemonsBad.inventory.prefix(200) {
            #expect(try InventoryItemTests.agentProblems(try item.json()) == [])
        }
        let (byRoute, byFinding) = Self.inventorySummary(daemonsBad.inventory)
        print("fleet-rollout: inventory (daemons, bad endpoint): agent route " + byRoute.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            + "; findings " + byFinding.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        #expect(byRoute["endpoints"] == good && byRoute["public"] == Self.instanceCount - good)
        #expect(byFinding["endpoint-not-accepting"] == Self.instanceCount - good)
        #expect(Self.inventorySummary(daemons.inventory).byRoute["endpoints"] == Self.instanceCount)
    }
}
