import Foundation
import Logging
import Testing

@testable import ECSVPCD

@Suite("JournalLogHandler fields, StderrLogHandler lines, LogDestination")
struct SystemdLogHandlerTests {
    private func fields(
        level: Logger.Level = .info,
        message: String = "m",
        metadata: Logger.Metadata = [:]
    ) -> [(String, String)] {
        JournalLogHandler.fields(
            for: "ecsvpcd.loop",
            level: level,
            message: message,
            metadata: metadata,
            file: "ECSVPCD/Daemon.swift",
            function: "observe()",
            line: 42
        )
    }

    @Test("a record carries MESSAGE, PRIORITY, SYSLOG_IDENTIFIER and the source location")
    func standardFields() {
        let sent = fields(level: .warning, message: "endpoint refuses 443")
        #expect(
            sent.map(\.0) == [
                "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "CODE_FILE", "CODE_LINE", "CODE_FUNC", "ECSVPCD_LOGGER",
            ]
        )
        #expect(
            sent.map(\.1) == [
                "endpoint refuses 443", "4", "ecsvpcd", "ECSVPCD/Daemon.swift", "42", "observe()", "ecsvpcd.loop",
            ]
        )
    }

    @Test(
        "levels map to syslog priorities",
        arguments: [
            (Logger.Level.trace, "7"), (.debug, "7"), (.info, "6"), (.notice, "5"), (.warning, "4"), (.error, "3"),
            (.critical, "2"),
        ]
    )
    func priorities(level: Logger.Level, priority: String) {
        #expect(fields(level: level).first { $0.0 == "PRIORITY" }?.1 == priority)
    }

    @Test("metadata becomes ECSVPCD_ fields; message_id becomes MESSAGE_ID")
    func metadataFields() {
        let sent = fields(metadata: [
            "endpoint": "ecs-a.us-east-1.amazonaws.com",
            "route": "vpc-endpoint",
            "addresses": .array(["127.16.0.5", "127.16.1.5"]),
            "decision": .dictionary(["via": "systemd", "after": .stringConvertible(600)]),
            "reason": .stringConvertible(3),
            "message_id": .string(MessageID.restartScheduled.rawValue),
        ])
        let named = Dictionary(sent, uniquingKeysWith: { first, _ in first })
        #expect(named["ECSVPCD_ENDPOINT"] == "ecs-a.us-east-1.amazonaws.com")
        #expect(named["ECSVPCD_ROUTE"] == "vpc-endpoint")
        #expect(named["ECSVPCD_ADDRESSES"] == "127.16.0.5,127.16.1.5")
        #expect(named["ECSVPCD_DECISION"] == "after=600,via=systemd")
        #expect(named["ECSVPCD_REASON"] == "3")
        #expect(named["MESSAGE_ID"] == "202c985177d6476d8266e1f423d9fbf7")
        #expect(named["ECSVPCD_MESSAGE_ID"] == nil)
    }

    @Test("field names are [A-Z0-9_], never start with _ or a digit, at most 64 characters")
    func fieldNames() {
        #expect(JournalLogHandler.fieldName(forMetadataKey: "agent.version") == "ECSVPCD_AGENT_VERSION")
        #expect(JournalLogHandler.fieldName(forMetadataKey: "not-before") == "ECSVPCD_NOT_BEFORE")
        #expect(JournalLogHandler.fieldName(forMetadataKey: "_pid") == "ECSVPCD__PID")
        #expect(JournalLogHandler.fieldName(forMetadataKey: "9lives") == "ECSVPCD_9LIVES")
        #expect(JournalLogHandler.fieldName(forMetadataKey: "größe") == "ECSVPCD_GR__E")
        let long = JournalLogHandler.fieldName(forMetadataKey: String(repeating: "k", count: 100))
        #expect(long.count == 64)
        for key in ["a b", "é", "", "Z-9", String(repeating: "x", count: 70)] {
            let name = JournalLogHandler.fieldName(forMetadataKey: key)
            #expect(name.utf8.allSatisfy { ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 95 })
            #expect(name.utf8.first.map { $0 != 95 && !($0 >= 48 && $0 <= 57) } == true)
            #expect(name.utf8.count <= 64)
        }
    }

    @Test("handler, provider and call metadata merge; the call wins")
    func metadataMerge() {
        let provider = Logger.MetadataProvider { ["instance": "i-0abc", "route": "public"] }
        let merged = mergedMetadata(
            handler: ["route": "unresolved", "region": "us-east-1"],
            provider: provider,
            event: ["route": "vpc-endpoint"]
        )
        #expect(merged == ["instance": "i-0abc", "route": "vpc-endpoint", "region": "us-east-1"])
    }

    @Test("stderr lines read LEVEL message key=value, with <N> when stderr is not a terminal")
    func stderrLines() {
        let metadata: Logger.Metadata = [
            "route": "vpc-endpoint", "endpoint": "ecs.us-east-1.amazonaws.com", "reason": "agent on public addresses",
        ]
        #expect(
            StderrLogHandler.line(level: .notice, message: "restart scheduled", metadata: metadata)
                == "NOTICE restart scheduled endpoint=ecs.us-east-1.amazonaws.com reason=\"agent on public addresses\" route=vpc-endpoint"
        )
        #expect(
            StderrLogHandler.line(level: .error, message: "two\nlines", metadata: [:], priorityPrefix: true)
                == "<3>ERROR two\\nlines"
        )
        #expect(
            StderrLogHandler.line(level: .debug, message: "x", metadata: ["q": "say \"hi\""], priorityPrefix: true)
                == "<7>DEBUG x q=\"say \\\"hi\\\"\""
        )
    }

    @Test("auto picks the journal only when JOURNAL_STREAM names stderr")
    func destination() throws {
        var status = stat()
        try #require(fstat(STDERR_FILENO, &status) == 0)
        let matching = "\(status.st_dev):\(status.st_ino)"
        #expect(LogDestination.auto.resolved(environment: ["JOURNAL_STREAM": matching]) == .journal)
        #expect(
            LogDestination.auto.resolved(environment: ["JOURNAL_STREAM": "\(status.st_dev):\(status.st_ino + 1)"])
                == .stderr
        )
        #expect(LogDestination.auto.resolved(environment: ["JOURNAL_STREAM": "garbage"]) == .stderr)
        #expect(LogDestination.auto.resolved(environment: [:]) == .stderr)
        #expect(LogDestination.journal.resolved(environment: [:]) == .journal)
        #expect(LogDestination.stderr.resolved(environment: ["JOURNAL_STREAM": matching]) == .stderr)
        #expect(LogDestination.journal.makeHandler(label: "x", level: .debug) is JournalLogHandler)
        #expect(LogDestination.stderr.makeHandler(label: "x").logLevel == .info)
        #expect(LogDestination(rawValue: "journal") == .journal)
    }
}
