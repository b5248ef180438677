import ECSVPCCore
@testable import ECSVPCD
import Foundation
import Testing

/// Real users and groups, made for the test and removed after it, connecting through `nc -U` as themselves.
@Suite("Control socket permissions", .serialized, .enabled(if: TemporaryAccounts.isAvailable, "needs root, useradd, setpriv and nc -U"))
struct ControlPermissionTests {
    @Test("outside the group: connect refused; in the group: status yes, actions forbidden; root: actions")
    func groupGatesTheSocket() async throws {
        try await TemporaryAccounts.with { accounts in
            try await withControlServer(group: accounts.group) { path in
                let outside = try await accounts.run(as: accounts.outsider, "{\"command\":\"status\"}\n", path: path)
                #expect(outside.output.isEmpty)
                #expect(outside.error.contains("Permission denied"), "\(outside)")

                let status = try await accounts.run(as: accounts.member, "{\"command\":\"status\"}\n", path: path)
                let reply = try #require(try? ControlReply.parse(Data(status.output.utf8)), "\(status)")
                #expect(reply == .status(ControlFixture.document))

                for request in ["{\"command\":\"reprobe\"}\n", "{\"command\":\"restart-agent\",\"reason\":\"x\"}\n"] {
                    let action = try await accounts.run(as: accounts.member, request, path: path)
                    let reply = try ControlReply.parse(Data(action.output.utf8))
                    #expect(reply.failureCode == .forbidden, "\(action)")
                }

                #expect(try await ControlClient(path: path).send(.reprobe, timeout: .seconds(10)) == .done(message: "reprobe scheduled"))
            }
        }
    }

    @Test("with the socket opened to everyone by mistake, a stranger still gets only forbidden")
    func checkedAgainPerRequest() async throws {
        try await TemporaryAccounts.with { accounts in
            try await withControlServer(group: accounts.group) { path in
                #expect(chmod(path, 0o666) == 0)
                let status = try await accounts.run(as: accounts.outsider, "{\"command\":\"status\"}\n", path: path)
                let reply = try ControlReply.parse(Data(status.output.utf8))
                guard case .failure(let failure) = reply else { Issue.record("got \(reply)"); return }
                #expect(failure.code == .forbidden)
                #expect(failure.message.contains(accounts.group))
            }
        }
    }
}

@Suite("Saved status behind the root-only state directory", .enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs root and setpriv"))
struct SavedStatusPermissionTests {
    @Test("a status reader who cannot look into the state directory is told to use sudo, not that nothing is saved")
    func savedStatusBehindRootOnlyDirectory() throws {
        let state = try TemporaryDirectory()
        #expect(chmod(state.path, 0o700) == 0)
        try ControlStatusCommandTests.save(ControlFixture.document, in: state)
        // Config and runtime directory where nobody may look (no daemon: its socket is simply not there).
        let tag = UUID().uuidString
        let config = "/tmp/ecsvpcd-saved-\(tag).conf"
        try "ECSVPCD_STATE_DIR=\(state.path)\nECSVPCD_RUNTIME_DIR=/tmp/ecsvpcd-saved-\(tag)-run\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        #expect(chmod(config, 0o644) == 0)
        defer { unlink(config) }
        let run = try runTool(
            "/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", try builtECSVPCD(), "status", "--config", config]
        )
        #expect(run.status == 3, "\(run.output)")
        #expect(run.output.contains("permission denied (the state directory is root's only); run with sudo"), "\(run.output)")
        #expect(!run.output.contains("no saved status"), "\(run.output)")
    }
}

/// A group and two users (one in the group, one not) with names unique to this run, removed by `with`
/// whatever happens in between.
struct TemporaryAccounts: Sendable {
    let group: String
    let member: String
    let outsider: String

    static var isAvailable: Bool {
        let files = FileManager.default
        return getuid() == 0
            && ["/usr/sbin/useradd", "/usr/sbin/groupadd", "/usr/sbin/userdel", "/usr/sbin/groupdel", "/usr/bin/setpriv", "/usr/bin/nc"]
                .allSatisfy { files.isExecutableFile(atPath: $0) }
    }

    static func with(_ body: (TemporaryAccounts) async throws -> Void) async throws {
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let accounts = TemporaryAccounts(group: "ecsvpcd-t-\(tag)", member: "ecsvpcd-t-\(tag)-in", outsider: "ecsvpcd-t-\(tag)-out")
        defer {
            _ = try? command("/usr/sbin/userdel", ["--force", accounts.member])
            _ = try? command("/usr/sbin/userdel", ["--force", accounts.outsider])
            _ = try? command("/usr/sbin/groupdel", [accounts.group])
        }
        try check(command("/usr/sbin/groupadd", [accounts.group]))
        let user = ["--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "--user-group"]
        try check(command("/usr/sbin/useradd", user + ["--groups", accounts.group, accounts.member]))
        try check(command("/usr/sbin/useradd", user + [accounts.outsider]))
        try await body(accounts)
    }

    /// Sends `request` with `nc -U` running as `user` (its own uid, primary group and supplementary groups).
    func run(as user: String, _ request: String, path: String) async throws -> Result {
        guard let entry = getpwnam(user) else { throw ControlTestError("no user \(user)") }
        let uid = entry.pointee.pw_uid
        let gid = entry.pointee.pw_gid
        return try await onOwnThread { () throws -> Result in
            try Self.command(
                "/usr/bin/setpriv", ["--reuid=\(uid)", "--regid=\(gid)", "--init-groups", "/usr/bin/nc", "-U", "-N", path],
                input: request
            )
        }.get()
    }

    struct Result: Sendable, CustomStringConvertible {
        var status: Int32
        var output: String
        var error: String
        var description: String { "exit \(status), stdout \(output.debugDescription), stderr \(error.debugDescription)" }
    }

    @discardableResult
    static func command(_ executable: String, _ arguments: [String], input: String = "") throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // The client may already have exited (connection refused): a broken pipe here is its answer, not ours.
        try? stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8))
        try? stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let error = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, output: String(decoding: output, as: UTF8.self), error: String(decoding: error, as: UTF8.self)
        )
    }

    private static func check(_ result: Result) throws {
        guard result.status == 0 else { throw ControlTestError("account setup failed: \(result)") }
    }
}
