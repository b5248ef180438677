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
                t += interval
            }
            if blocked { result.refused += 1 }
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
            } else {
                result.restarts.append(start + wait + 1)
                running.push(start + wait + Double.random(in: 30...90, using: &rng), failed: false)
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
        return result
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
    func compareModes() {
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
    }
}
