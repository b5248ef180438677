import ECSVPCCore
import Foundation
import Testing

@Suite("Fleet simulation")
struct FleetSimulationTests {
    static let instanceCount = 10_000
    static let interval: TimeInterval = 30
    static let stableProbes = 3
    static let window: TimeInterval = 600
    /// DNS on each instance sees the endpoints from a random moment within this long after they were created.
    static let dnsDelay: TimeInterval = 60
    static let duration: TimeInterval = 2 * 3600

    /// Distinct ids like `i-0a1b2c3d4e5f67890` (17 hex digits), from a seeded generator.
    static func instanceIDs(count: Int, using rng: inout SplitMix64) -> [String] {
        let digits = Array("0123456789abcdef")
        var seen: Set<String> = []
        var ids: [String] = []
        while ids.count < count {
            let id = "i-" + String((0..<17).map { _ in digits[Int(rng.next() & 0xf)] })
            if seen.insert(id).inserted { ids.append(id) }
        }
        return ids
    }

    @Test("10,000 instances restart their agents once each, spread over the window")
    func fleetRollout() {
        var rng = SplitMix64(seed: 0xec5_f1ee7)
        let policy = RestartPolicy(
            mode: .auto, stableProbes: Self.stableProbes, window: .seconds(Self.window), cooldown: .seconds(3600),
            budget: 3
        )
        let created = Date(timeIntervalSince1970: 1_750_000_000)
        let key = PlannerHarness.endpointKey
        let agentStart = created.addingTimeInterval(-5 * 86400)

        var restartTimes: [TimeInterval] = []
        var twice: [String] = []
        var never: [String] = []
        var late: [(String, TimeInterval)] = []

        // Every instance restarts before this many seconds after the endpoints were created: its DNS sees them
        // within 60 s, its next observation comes within one interval, two more observations confirm them
        // (stableProbes − 1 intervals), its slot is within the window after that, and the observation that acts
        // on the slot comes within one more interval: 60 + 30 + 2 × 30 + 600 + 30 = 780 s.
        let bound = Self.dnsDelay + Self.interval + Double(Self.stableProbes - 1) * Self.interval + Self.window
            + Self.interval

        for id in Self.instanceIDs(count: Self.instanceCount, using: &rng) {
            let planner = RestartPlanner(policy: policy, seed: id)
            var ledger = RestartLedger()
            let phase = Double.random(in: 0..<Self.interval, using: &rng)
            let seesEndpoints = Double.random(in: 0..<Self.dnsDelay, using: &rng)
            var agent = AgentFacts.connectedPublicly(startedAt: agentStart)
            var restartedAt: [TimeInterval] = []

            var t = phase
            while t < Self.duration {
                let now = created.addingTimeInterval(t)
                let decision = planner.decide(
                    now: now,
                    configuration: t >= seesEndpoints ? .vpcEndpoints : .public,
                    configurationKey: key,
                    endpointsAcceptConnections: t >= seesEndpoints,
                    agent: agent,
                    ledger: &ledger
                )
                if case .restart(let reason) = decision {
                    restartedAt.append(t)
                    ledger.history.append(StatusDocument.RestartRecord(
                        at: now, via: "systemd", result: "verified", reason: reason, detail: nil
                    ))
                    // From the next observation on, the restarted agent talks to the endpoints.
                    agent = AgentFacts(exists: true, running: true, startedAt: now, connections: .vpcEndpoint, viaProxy: false)
                }
                t += Self.interval
            }

            restartTimes += restartedAt
            if restartedAt.count > 1 { twice.append(id) }
            if let first = restartedAt.first {
                if first > bound { late.append((id, first)) }
            } else {
                never.append(id)
            }
        }

        restartTimes.sort()
        // Peak over any 60-second span (sliding), and over calendar minutes since the endpoints appeared.
        var slidingPeak = 0
        var lower = 0
        for upper in restartTimes.indices {
            while restartTimes[upper] - restartTimes[lower] >= 60 { lower += 1 }
            slidingPeak = max(slidingPeak, upper - lower + 1)
        }
        var perMinute: [Int: Int] = [:]
        for t in restartTimes { perMinute[Int(t / 60), default: 0] += 1 }
        let minutePeak = perMinute.values.max() ?? 0
        let last = restartTimes.last ?? 0
        let first = restartTimes.first ?? 0

        print(
            "fleet: \(restartTimes.count) restarts of \(Self.instanceCount) instances; "
                + "peak \(slidingPeak) in any 60 s (\(minutePeak) in one calendar minute); "
                + "first at +\(Int(first)) s, last at +\(Int(last)) s (bound \(Int(bound)) s) after the endpoints appeared"
        )
        print("fleet: restarts per minute: " + perMinute.keys.sorted().map { "\($0):\(perMinute[$0]!)" }.joined(separator: " "))

        let allowedPeak = 2 * Self.instanceCount * 60 / Int(Self.window)
        #expect(slidingPeak <= allowedPeak, "peak \(slidingPeak) restarts in one minute, allowed \(allowedPeak)")
        #expect(twice.isEmpty, "\(twice.count) instances restarted more than once, e.g. \(twice.prefix(3))")
        #expect(never.isEmpty, "\(never.count) instances never restarted, e.g. \(never.prefix(3))")
        #expect(late.isEmpty, "\(late.count) instances restarted after \(bound) s, e.g. \(late.prefix(3))")
        #expect(restartTimes.count == Self.instanceCount)
    }
}
