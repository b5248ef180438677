import ECSVPCCore
import ECSVPCD
import Foundation
import Testing

/// The fault soak's short run: a seeded random schedule of faults (DNS flips and outages, 443 dropped, the agent
/// killed or stopped behind the daemon's back, dockerd gone, ecsvpcd SIGKILLed and started again, SIGHUP with good
/// and bad configuration, a full disk, instance metadata failing, rollouts beside the daemon, its wall clock stepped
/// back and forward) against the built binary and real peers, the invariants checked after every step (see
/// `FaultSoak`).
///
/// `SEED=N` runs only that seed (`SOAK_STEPS=K` its first K steps; `SOAK_MINUTES=M` as many as fit in M minutes,
/// which is how `benchmarks/fault-soak` runs the long soak). Without `SEED`: the fixed seeds and one random seed,
/// printed.
@Suite("fault soak: seeded random faults against the real binary and real peers")
struct FaultSoakTests {
    static let fixedSeeds: [UInt64] = [16, 1_600]
    static let defaultSteps = 60

    static let seeds: [UInt64] = {
        let environment = ProcessInfo.processInfo.environment
        if let text = environment["SEED"], let seed = UInt64(text) { return [seed] }
        let random = UInt64.random(in: 1...999_999)
        print("fault soak: random seed \(random) (replay with SEED=\(random))")
        return fixedSeeds + [random]
    }()

    @Test("no fault or order of faults breaks an invariant", arguments: seeds)
    func soak(seed: UInt64) async throws {
        let environment = ProcessInfo.processInfo.environment
        let minutes = environment["SOAK_MINUTES"].flatMap(Double.init)
        let count = environment["SOAK_STEPS"].flatMap(Int.init) ?? (minutes == nil ? Self.defaultSteps : 100_000)
        let soak = try await FaultSoak(
            seed: seed, steps: FaultSchedule.steps(seed: seed, count: count),
            timeLimit: minutes.map { .milliseconds(Int($0 * 60_000)) }
        )
        let report = await soak.run()
        print(report.text)
        #expect(report.violations.isEmpty, "\(report.text)\n\(report.replay)")
        // Not a soak that checked nothing: every invariant was checked, on every step.
        for invariant in ["status-answers", "state-file-parses", "daemon-never-exits"] {
            #expect((report.invariantsChecked[invariant] ?? 0) > 0, "\(invariant) never checked\n\(report.text)")
        }
    }

    @Test("the schedule is a function of the seed alone, and covers every kind of fault")
    func scheduleReplays() {
        let a = FaultSchedule.steps(seed: 7, count: 400)
        #expect(a == FaultSchedule.steps(seed: 7, count: 400))
        #expect(Array(a.prefix(50)) == FaultSchedule.steps(seed: 7, count: 50))
        #expect(a != FaultSchedule.steps(seed: 8, count: 400))
        let kinds = Set(a.map(\.kind))
        for kind in ["dns-endpoints", "dns-public", "dns-partial", "dns-mixed", "dns-nxdomain", "dns-timeouts", "drop-443",
                     "agent-kill", "agent-stop", "agent-restart", "dockerd-down", "dockerd-dies-in-restart", "sigkill",
                     "sigkill-in-restart", "sighup-good", "sighup-bad", "disk-full", "imds-401", "imds-500",
                     "imds-nothing", "rollout", "restart-agent", "clock-back", "clock-forward"] {
            #expect(kinds.contains(kind), "no \(kind) in 400 steps")
        }
    }
}
