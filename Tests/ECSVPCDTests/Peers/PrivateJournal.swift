import Foundation

/// A real systemd-journald of one's own: runs a command in a private mount namespace (and by default a
/// private PID namespace) where a fresh journald owns /run/systemd/journal, then returns what the journal
/// recorded (Tests/Peers/private-journal.sh does the namespace work). Needs root. journald is gone when
/// `run` returns, also on timeout; so is everything the command started, unless `hostPIDs` is set.
enum PrivateJournal {
    struct Run: Sendable {
        /// `journalctl -o json` entries; a field with several values has them joined by newlines,
        /// binary values are decoded as UTF-8.
        let entries: [[String: String]]
        let status: Int32
        /// The command's stdout and stderr.
        let output: String

        /// Entries with `SYSLOG_IDENTIFIER` equal to `identifier`.
        func entries(identifier: String) -> [[String: String]] {
            entries.filter { $0["SYSLOG_IDENTIFIER"] == identifier }
        }
    }

    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Peers/private-journal.sh").path

    /// Root, unshare(1), setpriv(1) and a systemd-journald binary: what the harness needs.
    static var isAvailable: Bool {
        let files = FileManager.default
        return getuid() == 0
            && files.isExecutableFile(atPath: "/usr/bin/unshare") && files.isExecutableFile(atPath: "/usr/bin/setpriv")
            && (files.isExecutableFile(atPath: "/lib/systemd/systemd-journald")
                || files.isExecutableFile(atPath: "/usr/lib/systemd/systemd-journald"))
    }

    static func run(
        _ command: [String],
        environment: [String: String]? = nil,
        hostPIDs: Bool = false,
        timeout: Duration = .seconds(60)
    ) async throws -> Run {
        var environment = environment ?? ProcessInfo.processInfo.environment
        // With the host's PIDs the command sees other processes (the agent) in /proc, and journald
        // records their real PIDs; without, everything the command leaves running dies with it.
        environment["PRIVATE_JOURNAL_HOST_PIDS"] = hostPIDs ? "1" : nil
        let directory = try TemporaryDirectory()
        let journal = directory.file("journal.json")
        let output = directory.file("output.txt")
        // The shell only redirects and execs: the peer's pid is unshare's, which takes the namespaces down.
        let peer = try PeerProcess(
            "/bin/sh",
            ["-c", "out=$1; shift; exec \"$@\" >\"$out\" 2>&1", "sh", output, script, journal] + command,
            name: "private-journal",
            environment: environment
        )
        let deadline = ContinuousClock.now + timeout
        while peer.process.isRunning && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let timedOut = peer.process.isRunning
        peer.stop()
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        if timedOut { throw HarnessError(message: "timed out after \(timeout): \(command)\n\(text)") }
        let json = (try? String(contentsOfFile: journal, encoding: .utf8)) ?? ""
        return Run(entries: try parse(json), status: peer.process.terminationStatus, output: text)
    }

    static func parse(_ json: String) throws -> [[String: String]] {
        try json.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw HarnessError(message: "not a journal entry: \(line)")
            }
            return object.compactMapValues(string)
        }
    }

    private static func string(_ value: Any) -> String? {
        switch value {
        case let text as String: return text
        case let bytes as [Int]: return String(decoding: bytes.map { UInt8(truncatingIfNeeded: $0) }, as: UTF8.self)
        case let values as [Any]: return values.compactMap(string).joined(separator: "\n")
        default: return nil
        }
    }

    struct HarnessError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}
