import Foundation
import Logging
import Testing

@testable import ECSVPCD

/// Against a real systemd-journald in private namespaces (Tests/Peers/private-journal.sh). The Swift
/// test process cannot move into those namespaces itself, so the JournalLogHandler test runs this very
/// test binary again inside them, filtered to `journalWriter`, and reads back what journald stored.
@Suite(
    "JournalLogHandler against a private systemd-journald",
    .serialized,
    .enabled(if: PrivateJournal.isAvailable, "needs root, unshare and systemd-journald")
)
struct SystemdJournalTests {
    static let writerVariable = "ECSVPCD_TEST_JOURNAL_WRITER"

    @Test("the harness gives a command its own journald and returns what it stored", arguments: [false, true])
    func harness(hostPIDs: Bool) async throws {
        let directory = try TemporaryDirectory()
        try directory.write("fields", "MESSAGE=native\nECSVPCD_ENDPOINT=ecs.test\nSYSLOG_IDENTIFIER=pj-native\n")
        let run = try await PrivateJournal.run(
            [
                "/bin/sh", "-c",
                """
                echo streamed | systemd-cat -t pj-stream -p warning && logger --journald=\(directory.file("fields")) || exit 1
                if test -d /proc/\(getpid()); then exit 7; else exit 8; fi
                """,
            ],
            hostPIDs: hostPIDs
        )

        // Whether the command sees this test process: only with the host's PIDs.
        #expect(run.status == (hostPIDs ? 7 : 8), "\(run.output)")
        let streamed = run.entries(identifier: "pj-stream")
        #expect(streamed.map { $0["MESSAGE"] } == ["streamed"])
        #expect(streamed.first?["PRIORITY"] == "4")
        #expect(streamed.first?["_TRANSPORT"] == "stdout")
        let native = run.entries(identifier: "pj-native")
        #expect(native.first?["ECSVPCD_ENDPOINT"] == "ecs.test")
        #expect(native.first?["_TRANSPORT"] == "journal")
    }

    @Test("the harness leaves no journald, process or mount behind")
    func cleanup() async throws {
        let mountsBefore = try Self.privateJournalMounts()
        // Every process of these runs (journald included) inherits the marker; other test runs on the
        // machine may have journalds of their own.
        let marker = "ECSVPCD_TEST_PRIVATE_JOURNAL=\(UUID().uuidString)"
        var environment = ProcessInfo.processInfo.environment
        environment["ECSVPCD_TEST_PRIVATE_JOURNAL"] = String(marker.split(separator: "=")[1])
        let run = try await PrivateJournal.run(
            ["/bin/sh", "-c", "sleep 30 & echo started"],
            environment: environment,
            timeout: .seconds(30)
        )
        #expect(run.status == 0)
        #expect(run.output.contains("started"))
        let hostRun = try await PrivateJournal.run(["/bin/true"], environment: environment, hostPIDs: true)
        #expect(hostRun.status == 0)

        let processes = try FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap(Int32.init)
        let leftovers = processes.filter { pid in
            guard let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
            return environ.split(separator: 0).contains { $0.elementsEqual(marker.utf8) }
        }
        #expect(leftovers.isEmpty)
        #expect(try Self.privateJournalMounts() == mountsBefore)
    }

    /// Mounts on the paths the harness mounts over, as this process sees them.
    private static func privateJournalMounts() throws -> [String] {
        try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8).split(separator: "\n").map(String.init)
            .filter { line in
                let fields = line.split(separator: " ")
                return fields.count > 4 && ["/run/systemd", "/run/log", "/dev/kmsg"].contains(String(fields[4]))
            }
    }

    @Test("records logged through JournalLogHandler arrive as structured entries")
    func structuredEntries() async throws {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        var environment = ProcessInfo.processInfo.environment
        environment[Self.writerVariable] = "1"
        environment["NOTIFY_SOCKET"] = nil
        let run = try await PrivateJournal.run(
            [executable, "--testing-library", "swift-testing", "--filter", "journalWriter"],
            environment: environment,
            timeout: .seconds(120)
        )
        #expect(run.status == 0, "\(run.output)")

        let entries = run.entries(identifier: "ecsvpcd")
        #expect(entries.count == 2, "\(run.output)")
        let scheduled = try #require(entries.first { $0["MESSAGE_ID"] == MessageID.restartScheduled.rawValue })
        #expect(scheduled["MESSAGE"] == "restart scheduled")
        #expect(scheduled["PRIORITY"] == "5")
        #expect(scheduled["ECSVPCD_ENDPOINT"] == "ecs-a.us-east-1.amazonaws.com")
        #expect(scheduled["ECSVPCD_ROUTE"] == "vpc-endpoint")
        #expect(scheduled["ECSVPCD_ADDRESSES"] == "127.16.0.5,127.16.1.5")
        #expect(scheduled["ECSVPCD_DECISION"] == "after=600,via=systemd")
        #expect(scheduled["ECSVPCD_REGION"] == "us-east-1")
        #expect(scheduled["ECSVPCD_LOGGER"] == "ecsvpcd.test")
        #expect(scheduled["CODE_FILE"]?.hasSuffix("SystemdJournalTests.swift") == true)
        #expect(scheduled["CODE_FUNC"] == "journalWriter()")
        #expect(scheduled["CODE_LINE"].flatMap(Int.init) != nil)
        #expect(scheduled["_TRANSPORT"] == "journal")

        let failed = try #require(entries.first { $0["PRIORITY"] == "3" })
        #expect(failed["MESSAGE"] == "restart failed:\nagent did not come back")
        #expect(failed["MESSAGE_ID"] == MessageID.restartFailed.rawValue)
        #expect(entries.allSatisfy { $0["MESSAGE"] != "below the level" })
    }

    /// Runs only inside the private journal, started by `structuredEntries`.
    @Test(.enabled(if: ProcessInfo.processInfo.environment[writerVariable] == "1"))
    func journalWriter() {
        var logger = Logger(label: "ecsvpcd.test") { label in
            JournalLogHandler(label: label, level: .info)
        }
        logger[metadataKey: "region"] = "us-east-1"
        logger.debug("below the level")
        logger.notice(
            "restart scheduled",
            metadata: [
                "message_id": .string(MessageID.restartScheduled.rawValue),
                "endpoint": "ecs-a.us-east-1.amazonaws.com",
                "route": "vpc-endpoint",
                "addresses": .array(["127.16.0.5", "127.16.1.5"]),
                "decision": .dictionary(["via": "systemd", "after": "600"]),
            ]
        )
        logger.error(
            "restart failed:\nagent did not come back",
            metadata: ["message_id": .string(MessageID.restartFailed.rawValue)]
        )
    }
}
