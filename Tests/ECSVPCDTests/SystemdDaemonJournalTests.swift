import ECSVPCCore
import Foundation
import Testing

@testable import ECSVPCD

/// The built `ecsvpcd run` (`ECSVPCD_LOG=journal`) under a private systemd-journald, through a whole restart:
/// the ECS names flip from public to VPC endpoint addresses, the daemon confirms, schedules, restarts the
/// stand-in agent on the run's dockerd, verifies it, and stops on SIGTERM. What journald stored is the test.
@Suite(
    "ecsvpcd run logging to a private systemd-journald",
    .enabled(if: PrivateJournal.isAvailable, "needs root, unshare and systemd-journald")
)
struct SystemdDaemonJournalTests {
    /// Run inside the journal's namespaces with the host's PIDs (ecsvpcd reads the agent's /proc/PID): starts
    /// ecsvpcd, writes its pid to `$PIDFILE`, waits up to 60 s for a verified restart in the state file, then
    /// SIGTERM, and exits with ecsvpcd's status.
    static let script = #"""
        "$ECSVPCD" run --config "$CONFIG" >>"$LOG" 2>&1 &
        pid=$!
        echo "$pid" >"$PIDFILE"
        tries=0
        until grep -Eq '"result" *: *"verified"' "$STATE/state.json" 2>/dev/null; do
            tries=$((tries + 1))
            if [ "$tries" -gt 1200 ] || ! kill -0 "$pid" 2>/dev/null; then break; fi
            sleep 0.05
        done
        kill -TERM "$pid"
        wait "$pid"
        """#

    @Test("a flip to the endpoints is journaled as configuration changed, restart scheduled, restart verified")
    func restartScenario() async throws {
        let scenario = try await DaemonScenario()
        defer { scenario.stop() }
        let config = try scenario.writeConfig(["ECSVPCD_LOG": "journal"])
        try await scenario.waitForAgentConnection(to: scenario.publicAddresses[0])
        let pidFile = scenario.directory.file("ecsvpcd.pid")
        // Should the test fail half-way, ecsvpcd (left running with the host's PIDs) goes too.
        defer { Self.killDaemon(pidFile: pidFile) }

        let environment = [
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "ECSVPCD": try builtECSVPCD(), "CONFIG": config,
            "STATE": scenario.stateDir, "LOG": scenario.logPath, "PIDFILE": pidFile,
        ]
        async let journaled = PrivateJournal.run(
            ["/bin/sh", "-c", Self.script], environment: environment, hostPIDs: true, timeout: .seconds(120)
        )
        try await scenario.waitUntil("ecsvpcd publishes its first status") { scenario.savedStatus()?.agent != nil }
        try await scenario.route(.vpc)
        let run = try await journaled

        #expect(run.status == 0, "\(run.output)\n--- daemon stderr ---\n\(scenario.log)")
        #expect(scenario.history.last?.result == "verified")
        let entries = run.entries(identifier: "ecsvpcd")
        let context = Self.describe(entries)
        let pid = try #require(
            (try? String(contentsOfFile: pidFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        )

        // Every record: a priority, the source location, sent natively by this very process.
        #expect(entries.count >= 6, "\(context)")
        for entry in entries {
            #expect(entry["PRIORITY"].flatMap(Int.init).map { (0...7).contains($0) } == true, "\(entry)")
            #expect(entry["CODE_FILE"]?.hasSuffix(".swift") == true, "\(entry)")
            #expect(entry["CODE_LINE"].flatMap(Int.init) != nil, "\(entry)")
            #expect(entry["CODE_FUNC"]?.isEmpty == false, "\(entry)")
            #expect(entry["_TRANSPORT"] == "journal", "\(entry)")
            #expect(entry["_PID"] == pid, "\(entry)")
        }

        // The catalogued events of the scenario, in order (a flip seen half-way gives two changes in a row).
        var ids: [String] = []
        for id in entries.compactMap({ $0["MESSAGE_ID"] }) where ids.last != id { ids.append(id) }
        #expect(
            ids == [MessageID.configurationChanged, .restartScheduled, .restartVerified].map(\.rawValue),
            "\(context)"
        )

        let started = try #require(entries.firstIndex { $0["MESSAGE"]?.contains(" started: ") == true }, "\(context)")
        #expect(entries[started]["PRIORITY"] == "6")
        let first = try #require(entries.first { $0["MESSAGE"]?.hasPrefix("endpoint configuration is ") == true })
        #expect(first["PRIORITY"] == "6")
        #expect(first["ECSVPCD_ROUTE"] == EndpointConfiguration.public.rawValue)
        #expect(first["MESSAGE_ID"] == nil)

        let changes = entries.filter { $0["MESSAGE_ID"] == MessageID.configurationChanged.rawValue }
        #expect(changes.first?["ECSVPCD_PREVIOUS"] == EndpointConfiguration.public.rawValue)
        let changed = try #require(changes.last)
        #expect(changed["PRIORITY"] == "5")
        #expect(changed["ECSVPCD_ROUTE"] == EndpointConfiguration.vpcEndpoints.rawValue)
        #expect(changed["CODE_FILE"] == "ECSVPCD/CycleRunner.swift")
        #expect(changed["CODE_FUNC"] == "noteConfiguration(_:)")
        let addresses = changed["ECSVPCD_ADDRESSES"] ?? ""
        for address in scenario.vpcAddresses { #expect(addresses.contains("=\(address)"), "\(addresses)") }

        let scheduled = try #require(entries.first { $0["MESSAGE_ID"] == MessageID.restartScheduled.rawValue })
        #expect(scheduled["PRIORITY"] == "5")
        #expect(scheduled["ECSVPCD_DECISION"] == "scheduled")
        #expect(scheduled["ECSVPCD_REASON"]?.contains("still connected to public addresses") == true, "\(scheduled)")
        #expect(scheduled["ECSVPCD_NOT_BEFORE"]?.isEmpty == false)

        let restarting = try #require(entries.first { $0["ECSVPCD_DECISION"] == "restart" }, "\(context)")
        #expect(restarting["PRIORITY"] == "5")
        #expect(restarting["ECSVPCD_VIA"] == "docker")
        #expect(restarting["ECSVPCD_REASON"] == scheduled["ECSVPCD_REASON"])

        let verified = try #require(entries.first { $0["MESSAGE_ID"] == MessageID.restartVerified.rawValue })
        #expect(verified["PRIORITY"] == "5")
        #expect(verified["ECSVPCD_VIA"] == "docker")
        #expect(verified["ECSVPCD_DECISION"] == "verified")
        #expect(verified["MESSAGE"]?.contains(scenario.vpcAddresses[0].description) == true, "\(verified)")

        let stopping = try #require(entries.lastIndex { $0["MESSAGE"] == "ecsvpcd stopping" }, "\(context)")
        #expect(entries[stopping]["PRIORITY"] == "6")

        // The story in the journal's order: started, changed, confirming, scheduled, restarting, verified, stopping.
        let positions = [
            started,
            entries.firstIndex { $0["MESSAGE_ID"] == MessageID.configurationChanged.rawValue },
            entries.firstIndex { $0["ECSVPCD_DECISION"] == "confirming" },
            entries.firstIndex { $0["MESSAGE_ID"] == MessageID.restartScheduled.rawValue },
            entries.firstIndex { $0["ECSVPCD_DECISION"] == "restart" },
            entries.firstIndex { $0["MESSAGE_ID"] == MessageID.restartVerified.rawValue },
            stopping,
        ]
        let found = positions.compactMap { $0 }
        #expect(found.count == positions.count && found == found.sorted(), "\(context)")
        #expect(!entries.contains { ($0["PRIORITY"].flatMap(Int.init) ?? 7) <= 3 }, "\(context)")

        // journalctl -x fills the catalog text from the entry's fields: each one it names must be there.
        let catalog = try SystemdCatalogTests.parse(
            String(contentsOfFile: SystemdCatalogTests.catalogPath, encoding: .utf8)
        )
        for entry in entries {
            guard let id = entry["MESSAGE_ID"] else { continue }
            let catalogued = try #require(catalog.first { $0.id == id }, "no catalog entry for \(id)")
            let text = catalogued.body.joined(separator: "\n")
            for (index, field) in text.split(separator: "@", omittingEmptySubsequences: false).enumerated()
            where index % 2 == 1 {
                #expect(entry[String(field)]?.isEmpty == false, "\(id) lacks \(field) for the catalog: \(entry)")
            }
        }
    }

    /// Each entry as `PRIORITY MESSAGE_ID MESSAGE`, for failure messages.
    static func describe(_ entries: [[String: String]]) -> String {
        entries.map { "\($0["PRIORITY"] ?? "?") \($0["MESSAGE_ID"] ?? "-") \($0["MESSAGE"] ?? "")" }
            .joined(separator: "\n")
    }

    /// Kills the process in `pidFile` if it still runs ecsvpcd.
    static func killDaemon(pidFile: String) {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
            let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe"),
            exe.hasSuffix("/ecsvpcd")
        else { return }
        kill(pid, SIGKILL)
    }
}
