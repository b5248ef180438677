import Foundation

/// A real peer (dnsmasq, a listener, the instance-metadata emulator) run as a child process for one test.
///
/// Stopped on `stop()` or when released; its pid is also written under `ECSVPCD_TEST_RUN_DIR` so that
/// scripts/test kills anything a crashed test run left behind.
final class PeerProcess: @unchecked Sendable {
    let process: Process
    let name: String
    private let pidFile: URL?

    init(_ executable: String, _ arguments: [String], name: String, environment: [String: String]? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        self.name = name
        if let dir = ProcessInfo.processInfo.environment["ECSVPCD_TEST_RUN_DIR"] {
            let url = URL(fileURLWithPath: dir).appendingPathComponent("peer-\(process.processIdentifier).pid")
            try? "\(process.processIdentifier)\n".write(to: url, atomically: true, encoding: .utf8)
            pidFile = url
        } else {
            pidFile = nil
        }
    }

    var pid: Int32 { process.processIdentifier }

    func signal(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(3)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        if let pidFile { try? FileManager.default.removeItem(at: pidFile) }
    }

    deinit { stop() }
}

/// A temporary directory removed when released.
final class TemporaryDirectory: @unchecked Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("ecsvpcd-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    var path: String { url.path }

    func file(_ name: String) -> String { url.appendingPathComponent(name).path }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: file(name), atomically: true, encoding: .utf8)
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}
