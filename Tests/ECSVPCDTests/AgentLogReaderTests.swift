import ECSVPCCore
import Foundation
import Testing

@testable import ECSVPCD

private func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "agentlog-\(getpid())-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

private func line(_ host: String, at time: String = "2026-12-07T03:00:58Z") -> String {
    #"level=info time=\#(time) msg="Establishing a Websocket connection" url="https://\#(host).us-east-1.amazonaws.com/ws?seqNum=1""# + "\n"
}

private func append(_ path: String, _ text: String) throws {
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try handle.seekToEnd()
    try handle.write(contentsOf: Data(text.utf8))
    try handle.close()
}

private func present(_ status: AgentLogStatus) -> AgentLogSummary? {
    if case .present(let summary) = status { return summary }
    return nil
}

@Suite("Agent log reader: the file, rotation, bounds, and the container log")
struct AgentLogReaderTests {
    @Test func readsOnlyWhatWasAppendedSinceTheLastUpdate() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/ecs-agent.log"
        try line("ecs-a-1").write(toFile: path, atomically: false, encoding: .utf8)
        let reader = AgentLogReader(path: path)
        #expect(present(try reader.update())?.cell(.ecsAgent)?.host == "ecs-a-1.us-east-1.amazonaws.com")
        let first = reader.bytesReadLastUpdate
        #expect(first == line("ecs-a-1").utf8.count)
        #expect(present(try reader.update())?.linesRead == 1)
        #expect(reader.bytesReadLastUpdate == 0)
        try append(path, line("ecs-a-2"))
        let summary = present(try reader.update())
        #expect(summary?.cell(.ecsAgent)?.host == "ecs-a-2.us-east-1.amazonaws.com")
        #expect(summary?.linesRead == 2)
        #expect(reader.bytesReadLastUpdate == line("ecs-a-2").utf8.count)
    }

    @Test func keepsAPartialLastLineUntilItsNewlineArrives() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/ecs-agent.log"
        let whole = line("ecs-a-3")
        let cut = whole.index(whole.startIndex, offsetBy: 60)
        try String(whole[..<cut]).write(toFile: path, atomically: false, encoding: .utf8)
        let reader = AgentLogReader(path: path)
        #expect(present(try reader.update())?.linesRead == 0)
        try append(path, String(whole[cut...]))
        let summary = present(try reader.update())
        #expect(summary?.linesRead == 1)
        #expect(summary?.linesNotParsed == 0)
        #expect(summary?.cell(.ecsAgent)?.host == "ecs-a-3.us-east-1.amazonaws.com")
    }

    @Test func finishesTheRenamedFileThenReadsTheNewOneFromItsStart() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/ecs-agent.log"
        try line("ecs-a-1").write(toFile: path, atomically: false, encoding: .utf8)
        let reader = AgentLogReader(path: path)
        _ = try reader.update()
        // What seelog does: lines after the last read, then rename to a rolled name and a new file at the path.
        try append(path, line("ecs-t-4"))
        try FileManager.default.moveItem(atPath: path, toPath: path + ".2026-12-07-03")
        #expect(try reader.update() == .missing)
        try line("ecs-a-5", at: "2026-12-07T04:00:00Z").write(toFile: path, atomically: false, encoding: .utf8)
        let summary = present(try reader.update())
        #expect(summary?.linesRead == 3)
        #expect(summary?.cell(.ecsTelemetry)?.host == "ecs-t-4.us-east-1.amazonaws.com")
        #expect(summary?.cell(.ecsAgent)?.host == "ecs-a-5.us-east-1.amazonaws.com")

        // And when the rename and the new file both happen between two updates.
        try append(path, line("ecs-t-6"))
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        try line("ecs-a-8").write(toFile: path, atomically: false, encoding: .utf8)
        let after = present(try reader.update())
        #expect(after?.linesRead == 5)
        #expect(after?.cell(.ecsTelemetry)?.host == "ecs-t-6.us-east-1.amazonaws.com")
        #expect(after?.cell(.ecsAgent)?.host == "ecs-a-8.us-east-1.amazonaws.com")
    }

    @Test func rereadsAFileTruncatedInPlace() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/ecs-agent.log"
        try (line("ecs-a-1") + line("ecs-a-1")).write(toFile: path, atomically: false, encoding: .utf8)
        let reader = AgentLogReader(path: path)
        _ = try reader.update()
        #expect(truncate(path, 0) == 0)
        try append(path, line("ecs-a-9"))
        let summary = present(try reader.update())
        #expect(summary?.cell(.ecsAgent)?.host == "ecs-a-9.us-east-1.amazonaws.com")
        #expect(summary?.linesRead == 3)
    }

    @Test func aMissingFileIsAStateNotAnError() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let reader = AgentLogReader(path: dir + "/ecs-agent.log")
        #expect(try reader.update() == .missing)
    }

    @Test func anUnreadablePathIsAnErrorNamingThePathAndTheReason() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // root reads through chmod 000, so: a directory at the path, and a path under a file.
        try FileManager.default.createDirectory(atPath: dir + "/ecs-agent.log", withIntermediateDirectories: true)
        #expect {
            _ = try AgentLogReader(path: dir + "/ecs-agent.log").update()
        } throws: { error in
            "\(error)" == "\(dir)/ecs-agent.log: is a directory"
        }
        try "x".write(toFile: dir + "/file", atomically: false, encoding: .utf8)
        #expect {
            _ = try AgentLogReader(path: dir + "/file/ecs-agent.log").update()
        } throws: { error in
            "\(error)" == "\(dir)/file/ecs-agent.log: Not a directory"
        }
    }

    @Test func aLineLongerThanTheCapIsSkippedAndCountedWithItsPlace() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/ecs-agent.log"
        let long = "k=" + String(repeating: "v", count: 300) + "\n"
        try (line("ecs-a-1") + long + "\u{0}\u{1}binary\u{FF}\n" + line("ecs-a-2")).write(toFile: path, atomically: false, encoding: .utf8)
        let reader = AgentLogReader(path: path, maxLineBytes: 256)
        let summary = present(try reader.update())
        #expect(summary?.linesRead == 4)
        #expect(summary?.linesNotParsed == 2)
        #expect(reader.firstUnparsed == "\(path):2")
        #expect(summary?.cell(.ecsAgent)?.host == "ecs-a-2.us-east-1.amazonaws.com")
    }

    @Test func aHugeLogCostsABoundedReadPerUpdate() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/ecs-agent.log"
        // 16 MiB of lines (written once, as a block repeated), then the newest line, read with a 1 MiB budget: the
        // same bound as 100 MiB with the daemon's 4 MiB (benchmarks/agent-log reads the 100 MiB), at a cost that
        // does not hold up the suite's other tests (a synchronous test blocks one of the two pool threads here).
        let block = Data(String(repeating: line("ecs-a-1"), count: 8000).utf8)
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        while try handle.offset() < 16 << 20 { try handle.write(contentsOf: block) }
        try handle.write(contentsOf: Data(line("ecs-a-2").utf8))
        try handle.close()
        let budget = 1 << 20
        let reader = AgentLogReader(path: path, maxBytesPerUpdate: budget)
        let first = present(try reader.update())
        #expect(reader.bytesReadLastUpdate == budget)
        #expect(reader.bytesSkipped > 14 << 20)
        #expect(first?.cell(.ecsAgent)?.host == "ecs-a-2.us-east-1.amazonaws.com")
        #expect(first?.linesNotParsed == 0)  // the jump lands mid-line: that line is dropped, not counted
        // 4 MiB more between two updates: still one budget's worth, the newest.
        let more = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try more.seekToEnd()
        for _ in 0..<(4 << 20) / block.count { try more.write(contentsOf: block) }
        try more.write(contentsOf: Data(line("ecs-a-3").utf8))
        try more.close()
        let second = present(try reader.update())
        #expect(reader.bytesReadLastUpdate == budget)
        #expect(second?.cell(.ecsAgent)?.host == "ecs-a-3.us-east-1.amazonaws.com")
    }

    @Test func demultiplexesDockerFramesSplitAcrossReads() {
        func frame(_ stream: UInt8, _ text: String) -> [UInt8] {
            let payload = Array(text.utf8)
            let n = UInt32(payload.count)
            return [stream, 0, 0, 0, UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + payload
        }
        let bytes = frame(1, "out one\n") + frame(2, "err two\n") + frame(0, "stdin\n") + frame(1, "out three\n")
        var whole = DockerLogStream()
        #expect(String(decoding: whole.feed(bytes), as: UTF8.self) == "out one\nerr two\nout three\n")
        #expect(whole.isAtFrameBoundary)
        // Every split point, including inside a header and inside a payload.
        for cut in 1..<bytes.count {
            var stream = DockerLogStream()
            let output = stream.feed(Array(bytes[..<cut])) + stream.feed(Array(bytes[cut...]))
            #expect(String(decoding: output, as: UTF8.self) == "out one\nerr two\nout three\n")
        }
        var cutShort = DockerLogStream()
        _ = cutShort.feed(Array(bytes.prefix(12)))
        #expect(!cutShort.isAtFrameBoundary)
    }

    @Test func containerLogLinesGoIntoTheSameSummary() {
        let reader = AgentLogReader(path: "/nonexistent/ecs-agent.log")
        let summary = reader.add(containerLog: Array((line("ecs-a-1") + "not logfmt\n" + line("ecs-t-2")).utf8), source: "container ecs-agent")
        #expect(summary.cell(.ecsTelemetry)?.host == "ecs-t-2.us-east-1.amazonaws.com")
        #expect(reader.firstUnparsed == "container ecs-agent:2")
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["ECSVPCD_TEST_DOCKER_HOST"] != nil))
    func readsTheContainersLogThroughTheDockerEngine() async throws {
        let agent = try StandinAgent()
        defer { agent.remove() }
        try await agent.waitUntilServing()
        let host = try TestDocker.host()
        let engine = DockerEngine(target: try HTTPTarget(url: host))
        let bytes = try await engine.logs(agent.name, tail: 100)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("standin-agent: introspection on 127.0.0.1:\(agent.introspectionPort)\n"))
        // The stand-in prints plain text: read, counted, not parsed.
        let summary = AgentLogReader(path: "/nonexistent").add(containerLog: bytes, source: "container \(agent.name)")
        #expect(summary.linesRead >= 1)
        #expect(summary.linesNotParsed == summary.linesRead)
        await #expect(throws: AgentError.self) { _ = try await engine.logs("ecsvpcd-no-such-container-\(getpid())") }
    }
}
