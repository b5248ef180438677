import ECSVPCCore
@testable import ECSVPCD
import Foundation
import Logging
import Testing

/// The daemon's cycles, in process, with the state directory on a small tmpfs of its own that the test fills.
@Suite(
    "The restart ledger when the state file cannot be saved", .serialized,
    .enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/mount"), "needs root to mount a tmpfs")
)
struct LedgerPersistenceTests {
    @Test("a full disk: the cycle's ledger, a restart's record among it, is kept in memory, so the cooldown holds")
    func fullDiskKeepsTheLedger() async throws {
        let scenario = try await DaemonScenario()
        defer { scenario.stop() }
        try scenario.writeConfig(["ECSVPCD_RESTART_WINDOW": "0", "ECSVPCD_STABLE_PROBES": "1"])
        try await scenario.waitForAgentConnection(to: scenario.publicAddresses[0])
        let state = scenario.stateDir
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let mounted = try runTool("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", state])
        try #require(mounted.status == 0, "\(mounted.output)")
        defer { _ = try? runTool("/usr/bin/umount", ["-l", state]) }

        var runner = try CycleRunner(
            settings: try scenario.settings(), logger: Logger(label: "ecsvpcd.test.ledger"), verifyDeadline: .seconds(20),
            now: { Date() }
        )
        _ = await runner.cycle(force: nil)  // the restart lock, state.json and status.json exist now
        #expect(scenario.ledger() != nil)
        // Fill what is left of the tmpfs: every later write of state.json fails (ENOSPC).
        let filler = state + "/filler"
        #expect(FileManager.default.createFile(atPath: filler, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: filler))
        while (try? handle.write(contentsOf: Data(count: 4096))) != nil {}
        try? handle.close()

        try await scenario.route(.vpc)
        var ledger = RestartLedger()
        for _ in 0..<20 where ledger.history.isEmpty {
            (_, ledger) = await runner.cycle(force: nil)
            if ledger.history.isEmpty { try await Task.sleep(for: .milliseconds(500)) }
        }
        try #require(ledger.history.count == 1, "the restart happened: \(ledger)")
        #expect(scenario.ledger()?.history.isEmpty == true, "state.json really could not be written")
        let (_, next) = await runner.cycle(force: nil)
        #expect(next.history.count == 1, "the restart is remembered though state.json could not be written")
        #expect(next.history.first == ledger.history.first)
    }
}
