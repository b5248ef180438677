import ECSVPCCore
@testable import ECSVPCD
import Foundation
import Logging
import Testing

@Suite("Control socket server")
struct ControlServerTests {
    @Test("200 clients connected at once all get the status document")
    func manyClientsAtOnce() async throws {
        try await withControlServer { path in
            let connections = try (0..<200).map { _ in try RawControlConnection(path: path) }
            for connection in connections { connection.send("{\"command\":\"status\"}\n") }
            for connection in connections {
                #expect(try await connection.reply() == .status(ControlFixture.document))
            }
            // And through the client, many tasks at once.
            try await withThrowingTaskGroup(of: ControlReply.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await ControlClient(path: path).send(.status, timeout: .seconds(10)) }
                }
                for try await reply in group { #expect(reply == .status(ControlFixture.document)) }
            }
        }
    }

    @Test("a request line over 4096 bytes gets too-large, one of exactly 4096 is served")
    func requestSizeLimit() async throws {
        try await withControlServer { path in
            let big = try RawControlConnection(path: path)
            big.send([UInt8](repeating: UInt8(ascii: "{"), count: 5000))
            #expect(try await big.reply().failureCode == .tooLarge)

            let request = "{\"command\":\"status\"}"
            let padded = request + String(repeating: " ", count: 4095 - request.utf8.count) + "\n"
            #expect(padded.utf8.count == 4096)
            let exact = try RawControlConnection(path: path)
            exact.send(padded)
            #expect(try await exact.reply() == .status(ControlFixture.document))

            let over = try RawControlConnection(path: path)
            over.send(request + String(repeating: " ", count: 4096 - request.utf8.count) + "\n")
            #expect(try await over.reply().failureCode == .tooLarge)
        }
    }

    @Test("garbage, a JSON line without a string command, and binary bytes get bad-request")
    func garbage() async throws {
        try await withControlServer { path in
            for line in ["hello\n", "{\"command\":5}\n", "[\"status\"]\n", "\n", "\u{0}\u{1}\u{FF}\r\n", "{\"command\":\"status\"\n"] {
                let connection = try RawControlConnection(path: path)
                connection.send(line)
                let reply = try await connection.reply()
                #expect(reply.failureCode == .badRequest, "\(line.debugDescription) → \(reply)")
            }
        }
    }

    @Test("an unknown command gets unknown-command naming the known ones")
    func unknownCommand() async throws {
        try await withControlServer { path in
            let reply = try await ControlRawRequest.send("{\"command\":\"self-destruct\"}\n", to: path)
            guard case .failure(let failure) = reply else { Issue.record("got \(reply)"); return }
            #expect(failure.code == .unknownCommand)
            #expect(failure.message.contains("self-destruct") && failure.message.contains("restart-agent"))
        }
    }

    @Test("a client that sends nothing gets timeout at the read deadline, and others are served meanwhile")
    func silentClientTimesOut() async throws {
        // A deadline long enough that a loaded 2-core machine serves the others well within it.
        var limits = ControlServer.Limits()
        limits.readDeadline = .seconds(15)
        try await withControlServer(limits: limits) { path in
            let started = ContinuousClock.now
            let silent = try RawControlConnection(path: path)
            for _ in 0..<5 {
                #expect(try await ControlClient(path: path).send(.status, timeout: .seconds(5)) == .status(ControlFixture.document))
            }
            // Served while the silent client still holds its connection.
            #expect(ContinuousClock.now - started < .milliseconds(14_900))
            let reply = try await silent.reply(timeout: .seconds(40))
            let waited = ContinuousClock.now - started
            #expect(reply.failureCode == .timeout)
            #expect(waited >= .milliseconds(14_900) && waited < .seconds(40), "timed out after \(waited)")
        }
    }

    @Test("a half request followed by silence also times out")
    func partialRequestTimesOut() async throws {
        var limits = ControlServer.Limits()
        limits.readDeadline = .milliseconds(300)
        try await withControlServer(limits: limits) { path in
            let connection = try RawControlConnection(path: path)
            connection.send("{\"command\":")
            #expect(try await connection.reply().failureCode == .timeout)
        }
    }

    @Test("clients that vanish mid-request do not disturb the server")
    func vanishingClients() async throws {
        try await withControlServer { path in
            for index in 0..<100 {
                let connection = try RawControlConnection(path: path)
                if index % 2 == 0 { connection.send("{\"comm") }
            }
            #expect(try await ControlClient(path: path).send(.status, timeout: .seconds(10)) == .status(ControlFixture.document))
        }
    }

    @Test("connections beyond the limit are closed at once, and served again once others finish")
    func connectionLimit() async throws {
        var limits = ControlServer.Limits()
        limits.maxConnections = 8
        limits.readDeadline = .seconds(10)
        try await withControlServer(limits: limits) { path, server in
            // Nine silent connections: eight are held, one is closed at once (which one depends on the
            // order the event loops set them up in). A held one would only answer after 10 s.
            // The probe connection that found the socket must be gone first. It may still wait in the accept
            // queue: a request served after it (the queue is in order) shows it was taken, then both close.
            #expect(try await ControlClient(path: path).send(.status, timeout: .seconds(5)) == .status(ControlFixture.document))
            try await waitUntil("the server counts no connection") { server.openConnectionCount == 0 }
            var held = try (0..<9).map { _ in try RawControlConnection(path: path) }
            try await waitUntil("the server holds eight and has closed one") {
                server.openConnectionCount == 8 && held.contains { $0.isClosedByPeer }
            }
            #expect(held.indices.filter { held[$0].isClosedByPeer }.count == 1)

            held.removeAll()
            try await waitUntil("the server counts the closed ones out") { server.openConnectionCount == 0 }
            let reply = try await ControlClient(path: path).send(.status, timeout: .seconds(5))
            #expect(reply == .status(ControlFixture.document))
        }
    }

    /// Polls `condition` until it holds; fails after `timeout` (a deadline for a loaded machine, not a speed).
    private func waitUntil(
        _ what: String, timeout: Duration = .seconds(10), _ condition: () throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while try !condition() {
            guard ContinuousClock.now < deadline else { throw ControlTestError("timed out waiting until \(what)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test("a client that shuts down its sending side after the request still gets the reply")
    func halfClose() async throws {
        try await withControlServer { path in
            let withNewline = try RawControlConnection(path: path)
            withNewline.send("{\"command\":\"status\"}\n")
            withNewline.shutdownSending()
            #expect(try await withNewline.reply() == .status(ControlFixture.document))

            let withoutNewline = try RawControlConnection(path: path)
            withoutNewline.send("{\"command\":\"status\"}")
            withoutNewline.shutdownSending()
            #expect(try await withoutNewline.reply() == .status(ControlFixture.document))

            let nothing = try RawControlConnection(path: path)
            nothing.shutdownSending()
            #expect(await nothing.readToEnd(timeout: .seconds(2)) == "")
        }
    }

    @Test("root may ask for actions; the handler's failure comes back as failed")
    func actionsAsRoot() async throws {
        let handler = FakeControlHandler()
        try await withControlServer(handler: handler) { path in
            let client = ControlClient(path: path)
            #expect(try await client.send(.reprobe, timeout: .seconds(10)) == .done(message: "reprobe scheduled"))
            #expect(
                try await client.send(.restartAgent(reason: "endpoints created"), timeout: .seconds(10))
                    == .done(message: "agent restart requested: endpoints created")
            )
            let failed = try await client.send(.restartAgent(reason: "fail please"), timeout: .seconds(10))
            #expect(failed == .failure(.init(.failed, "the restart budget is spent; wait until 12:00")))
            let noReason = try await ControlRawRequest.send("{\"command\":\"restart-agent\"}\n", to: path)
            #expect(noReason == .done(message: "agent restart requested: \(ControlRequest.defaultRestartReason)"))
        }
        #expect(handler.recorded.first == "reprobe")
        #expect(handler.recorded.count == 4)
    }

    @Test("the socket is mode 0660 with the status group, in a runtime directory made 0755")
    func socketModeAndGroup() async throws {
        try await withControlServer(group: "adm") { path in
            var info = stat()
            #expect(lstat(path, &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFSOCK)
            #expect(info.st_mode & 0o777 == 0o660)
            #expect(info.st_gid == ControlSocketFile.groupID(named: "adm"))
            #expect(stat((path as NSString).deletingLastPathComponent, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o755)
        }
    }

    @Test("an unknown status group leaves the socket to root (0600) and logs a warning")
    func unknownGroup() async throws {
        let sink = CapturingLogHandler.LogSink()
        let logger = Logger(label: "test") { _ in CapturingLogHandler(sink: sink) }
        try await withControlServer(group: "ecsvpcd-no-such-group", logger: logger) { path throws in
            var info = stat()
            #expect(lstat(path, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o600)
            #expect(try await ControlClient(path: path).send(.status, timeout: .seconds(10)) == .status(ControlFixture.document))
        }
        #expect(sink.all.contains { $0.level == .warning && $0.message.contains("root only") })
    }

    @Test("a stale socket is replaced; a live one is left alone and the second server fails")
    func staleAndLiveSockets() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("control.sock")
        // A stale socket: bound, then its listener gone.
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(stale, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        close(stale)
        #expect(FileManager.default.fileExists(atPath: path))

        let first = ControlServer(path: path, statusGroup: "root", handler: FakeControlHandler(), logger: Logger(label: "test"))
        let task = Task { try await first.run() }
        try await waitForSocket(path, while: task)

        let second = ControlServer(path: path, statusGroup: "root", handler: FakeControlHandler(), logger: Logger(label: "test"))
        await #expect(throws: ControlSocketFile.SetupError.self) { try await second.run() }
        #expect(try await ControlClient(path: path).send(.status, timeout: .seconds(10)) == .status(ControlFixture.document))

        task.cancel()
        try await task.value
        #expect(!FileManager.default.fileExists(atPath: path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(leftovers.isEmpty, "left: \(leftovers)")
    }

    @Test("a regular file at the socket path is not removed")
    func regularFileInTheWay() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("control.sock", "precious\n")
        let server = ControlServer(
            path: directory.file("control.sock"), statusGroup: "root", handler: FakeControlHandler(), logger: Logger(label: "test")
        )
        await #expect(throws: ControlSocketFile.SetupError.self) { try await server.run() }
        #expect(try String(contentsOfFile: directory.file("control.sock"), encoding: .utf8) == "precious\n")
    }
}

/// Sends one raw line and parses the reply.
enum ControlRawRequest {
    static func send(_ line: String, to path: String) async throws -> ControlReply {
        let connection = try RawControlConnection(path: path)
        connection.send(line)
        return try await connection.reply()
    }
}

@Suite("Control protocol")
struct ControlProtocolTests {
    @Test("requests and replies are one line of JSON each, and round-trip")
    func roundTrip() throws {
        for request in [ControlRequest.status, .reprobe, .restartAgent(reason: "a \"quoted\"\nreason")] {
            let line = request.line()
            #expect(line.last == UInt8(ascii: "\n"))
            #expect(line.dropLast().contains(UInt8(ascii: "\n")) == false)
            #expect(try ControlRequest.parse(line.dropLast()).get() == request)
        }
        for reply in [ControlReply.status(ControlFixture.document), .done(message: "ok"), .failure(.init(.forbidden, "no"))] {
            let line = reply.line()
            #expect(line.dropLast().contains(UInt8(ascii: "\n")) == false)
            #expect(try ControlReply.parse(line) == reply)
        }
        let text = String(decoding: ControlReply.failure(.init(.tooLarge, "x")).line(), as: UTF8.self)
        #expect(text == "{\"error\":\"too-large\",\"message\":\"x\",\"ok\":false}\n")
    }

    @Test("peer groups come from /proc status only while the uid still matches")
    func procGroups() {
        let status = "Name:\tnc\nUid:\t1001\t1001\t1001\t1001\nGid:\t1001\t1001\t1001\t1001\nGroups:\t4 27 1001 \n"
        #expect(ControlPeer.supplementaryGroups(status: status, uid: 1001) == [4, 27, 1001])
        #expect(ControlPeer.supplementaryGroups(status: status, uid: 1002) == nil)
        #expect(ControlPeer.supplementaryGroups(status: "Uid:\t5\t5\t5\t5\nGroups:\t\n", uid: 5) == [])
    }

    @Test("access: root may do anything, the group may read status, nobody else anything")
    func access() {
        let access = ControlAccess(groupName: "adm", gid: 4, procRoot: "/nonexistent")
        #expect(access.authorize(.restartAgent(reason: "x"), peer: ControlPeer(pid: 1, uid: 0, gid: 0)) == nil)
        #expect(access.authorize(.status, peer: ControlPeer(pid: 1, uid: 1000, gid: 4)) == nil)
        #expect(access.authorize(.reprobe, peer: ControlPeer(pid: 1, uid: 1000, gid: 4))?.code == .forbidden)
        #expect(access.authorize(.status, peer: ControlPeer(pid: 1, uid: 1000, gid: 1000))?.code == .forbidden)
        #expect(access.authorize(.status, peer: nil)?.code == .forbidden)
        let noGroup = ControlAccess(groupName: "adm", gid: nil)
        #expect(noGroup.authorize(.status, peer: ControlPeer(pid: 1, uid: 1000, gid: 4))?.code == .forbidden)
    }
}
