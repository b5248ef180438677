import ECSVPCCore
@testable import ECSVPCD
import Foundation
import Testing

@Suite("Status command and saved status")
struct ControlStatusCommandTests {
    static func runner(socket: String, stateDir: String) -> StatusCommandRunner {
        StatusCommandRunner(socketPath: socket, stateDir: stateDir, statusGroup: "adm", probePort: 443, color: false)
    }

    static func save(_ document: StatusDocument, in directory: TemporaryDirectory) throws {
        try StatusDocument.encoder().encode(document).write(to: URL(fileURLWithPath: SavedStatus.path(stateDir: directory.path)))
    }

    @Test("a saved status round-trips, with its age from updatedAt")
    func savedRoundTrip() throws {
        let directory = try TemporaryDirectory()
        try Self.save(ControlFixture.document, in: directory)
        let now = ControlFixture.updatedAt.addingTimeInterval(300)
        guard case .loaded(let document, let age) = SavedStatus.read(stateDir: directory.path, now: now) else {
            Issue.record("not loaded")
            return
        }
        #expect(document == ControlFixture.document)
        #expect(age == .seconds(300))
        #expect(SavedStatus.load(stateDir: directory.path)?.0 == ControlFixture.document)
    }

    @Test("a corrupt or foreign saved status is nil with a message naming the file; a missing one is absent")
    func savedCorrupt() throws {
        let directory = try TemporaryDirectory()
        #expect(SavedStatus.load(stateDir: directory.path) == nil)
        guard case .absent = SavedStatus.read(stateDir: directory.path) else { Issue.record("expected absent"); return }
        for text in ["{\"schema\":1,\"health\":", "{\"schema\":1}", "\u{0}\u{0}"] {
            try directory.write(SavedStatus.fileName, text)
            #expect(SavedStatus.load(stateDir: directory.path) == nil)
            guard case .unreadable(let message) = SavedStatus.read(stateDir: directory.path) else {
                Issue.record("expected unreadable for \(text.debugDescription)")
                continue
            }
            #expect(message.contains(SavedStatus.path(stateDir: directory.path)))
        }
    }

    @Test("status shows the daemon's document as a table or JSON and exits with its health code")
    func statusFromDaemon() async throws {
        try await withControlServer { path in
            let runner = Self.runner(socket: path, stateDir: "/nonexistent")
            let table = await runner.status(json: false, now: ControlFixture.updatedAt)
            #expect(table.exitCode == 1)
            #expect(table.standardOutput.hasPrefix("WARNING  agent still on public endpoints"))
            #expect(!table.standardOutput.contains("\u{1B}["))
            #expect(table.standardError.isEmpty)

            let json = await runner.status(json: true)
            #expect(json.exitCode == 1)
            let document = try StatusDocument.decoder().decode(StatusDocument.self, from: Data(json.standardOutput.utf8))
            #expect(document == ControlFixture.document)
        }
    }

    @Test("without a daemon, status shows the saved status with its age, as saved-state, and exits 3")
    func statusFromSavedState() async throws {
        let state = try TemporaryDirectory()
        try Self.save(ControlFixture.document, in: state)
        let socket = state.file("control.sock")
        let runner = Self.runner(socket: socket, stateDir: state.path)
        let now = ControlFixture.updatedAt.addingTimeInterval(600)

        let table = await runner.status(json: false, now: now)
        #expect(table.exitCode == 3)
        #expect(table.standardOutput.hasPrefix("ecsvpcd is not running (no control socket at \(socket))\n"))
        #expect(table.standardOutput.contains("last saved status, 10m old"))
        #expect(table.standardOutput.contains("agent still on public endpoints"))

        let json = await runner.status(json: true, now: now)
        #expect(json.exitCode == 3)
        #expect(json.standardError.hasPrefix("ecsvpcd is not running (no control socket at \(socket))"))
        let document = try StatusDocument.decoder().decode(StatusDocument.self, from: Data(json.standardOutput.utf8))
        #expect(document.source == "saved-state")
        #expect(document.summary == ControlFixture.document.summary)
    }

    @Test("a socket with nobody listening counts as not running")
    func staleSocketIsNotRunning() async throws {
        let state = try TemporaryDirectory()
        let socketPath = state.file("control.sock")
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(socketPath.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        close(fd)
        #expect(bound == 0)
        let client = ControlClient(path: socketPath)
        await #expect(throws: ControlClientError.self) { try await client.send(.status, timeout: .seconds(1)) }
        do {
            _ = try await client.send(.status, timeout: .seconds(1))
        } catch {
            #expect(error.code == .notRunning)
        }
        let output = await Self.runner(socket: socketPath, stateDir: state.path).status(json: false)
        #expect(output.exitCode == 3)
        #expect(output.standardError.contains("ecsvpcd is not running"))
        #expect(output.standardError.contains("no saved status either"))
    }

    @Test("without a daemon or a usable saved status, status exits 3 and says so")
    func statusWithNothing() async throws {
        let state = try TemporaryDirectory()
        let runner = Self.runner(socket: state.file("control.sock"), stateDir: state.path)
        let nothing = await runner.status(json: true)
        #expect(nothing.exitCode == 3)
        // --json: a document on stdout all the same, with the error; the text on stderr.
        let error = try JSONDecoder().decode(ErrorDocument.self, from: Data(nothing.standardOutput.utf8))
        #expect(error.error.id == "daemon-not-running" && error.exitCode == 3 && error.health == .unknown)
        #expect(nothing.standardError.contains("no saved status either"))
        #expect(await runner.status(json: false).standardOutput.isEmpty)

        try state.write(SavedStatus.fileName, "not json")
        let corrupt = await runner.status(json: false)
        #expect(corrupt.exitCode == 3)
        #expect(corrupt.standardError.contains("not a status document"))
        let corruptJSON = await runner.status(json: true)
        let unreadable = try JSONDecoder().decode(ErrorDocument.self, from: Data(corruptJSON.standardOutput.utf8))
        #expect(unreadable.error.id == "saved-status-unreadable" && corruptJSON.exitCode == 3)
    }

    @Test("reprobe and restart-agent print the daemon's message; failures and no daemon exit non-zero")
    func actions() async throws {
        try await withControlServer { path in
            let runner = Self.runner(socket: path, stateDir: "/nonexistent")
            #expect(await runner.reprobe() == CommandOutput(standardOutput: "reprobe scheduled\n", exitCode: 0))
            let restart = await runner.restartAgent(reason: "endpoints created")
            #expect(restart == CommandOutput(standardOutput: "agent restart requested: endpoints created\n", exitCode: 0))
            let failed = await runner.restartAgent(reason: "fail please")
            #expect(failed.exitCode == 1)
            #expect(failed.standardError == "ecsvpcd restart-agent: failed: the restart budget is spent; wait until 12:00\n")
        }
        let gone = try TemporaryDirectory()
        let none = await Self.runner(socket: gone.file("control.sock"), stateDir: gone.path).reprobe()
        #expect(none.exitCode == 3)
        #expect(none.standardError.contains("ecsvpcd is not running"))
    }

    @Test("a daemon that accepts but never answers gives a timeout, not a hang")
    func unansweredTimesOut() async throws {
        // A listener that never replies stands in for a stuck daemon.
        let directory = try TemporaryDirectory()
        let stuck = directory.file("stuck.sock")
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(stuck.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0 && listen(fd, 4) == 0)
        let started = ContinuousClock.now
        do {
            _ = try await ControlClient(path: stuck).send(.status, timeout: .milliseconds(300))
            Issue.record("expected a timeout")
        } catch {
            #expect(error.code == .timeout)
        }
        // Far below "forever", far above the 300 ms timeout on a loaded 2-core machine.
        #expect(ContinuousClock.now - started < .seconds(10))
        var runner = Self.runner(socket: stuck, stateDir: directory.path)
        runner.statusTimeout = .milliseconds(300)
        let output = await runner.status(json: false)
        #expect(output.exitCode == 3)
        #expect(output.standardError.contains("did not answer in time"))
    }
}
