import Foundation
import Testing

@testable import ECSVPCD

/// A /proc made by the test: one directory per process with `comm`, `cmdline` and an `ns/pid` link.
private final class FakeProc {
    let directory: TemporaryDirectory
    var root: String { directory.path }
    static let hostNamespace = "pid:[4026531836]"

    init(selfNamespace: String? = FakeProc.hostNamespace) throws {
        directory = try TemporaryDirectory()
        if let selfNamespace { try link("self", selfNamespace) }
    }

    /// `arguments` as the kernel keeps them: each followed by a NUL.
    func process(_ pid: Int, comm: String, arguments: [String], namespace: String? = FakeProc.hostNamespace) throws {
        let dir = "\(root)/\(pid)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data((comm + "\n").utf8).write(to: URL(fileURLWithPath: "\(dir)/comm"))
        try Data(arguments.map { $0 + "\0" }.joined().utf8).write(to: URL(fileURLWithPath: "\(dir)/cmdline"))
        if let namespace { try link("\(pid)", namespace) }
    }

    private func link(_ entry: String, _ namespace: String) throws {
        try FileManager.default.createDirectory(atPath: "\(root)/\(entry)/ns", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(root)/\(entry)/ns/pid", withDestinationPath: namespace)
    }
}

@Suite("ecs-init process in /proc")
struct EcsInitProcessTests {
    @Test("finds ecs-init started by ecs.service as /usr/libexec/amazon-ecs-init start")
    func findsTheUnitsProcess() throws {
        let proc = try FakeProc()
        try proc.process(1, comm: "systemd", arguments: ["/sbin/init"])
        try proc.process(640, comm: "dockerd", arguments: ["/usr/bin/dockerd", "-H", "fd://"])
        try proc.process(812, comm: "amazon-ecs-init", arguments: ["/usr/libexec/amazon-ecs-init", "start"])
        try proc.process(901, comm: "agent", arguments: ["/agent"])
        #expect(EcsInitProcess.find(procRoot: proc.root) == .running(pid: 812, command: "/usr/libexec/amazon-ecs-init start"))
    }

    @Test("finds a script standing in for ecs-init by its comm, the script's own name")
    func findsAScriptByComm() throws {
        let proc = try FakeProc()
        try proc.process(77, comm: "amazon-ecs-init", arguments: ["/bin/sh", "/usr/libexec/amazon-ecs-init", "start"])
        #expect(EcsInitProcess.find(procRoot: proc.root) == .running(pid: 77, command: "/bin/sh /usr/libexec/amazon-ecs-init start"))
    }

    @Test("finds ecs-init by argv[0] when its comm was changed, and under the name ecs-init")
    func findsByArgumentZero() throws {
        let renamed = try FakeProc()
        try renamed.process(300, comm: "worker", arguments: ["/usr/sbin/amazon-ecs-init", "start"])
        #expect(EcsInitProcess.find(procRoot: renamed.root) == .running(pid: 300, command: "/usr/sbin/amazon-ecs-init start"))
        let short = try FakeProc()
        try short.process(42, comm: "ecs-init", arguments: [])
        #expect(EcsInitProcess.find(procRoot: short.root) == .running(pid: 42, command: "ecs-init"))
    }

    @Test("the lowest pid wins when several ecs-init processes run (start, and the unit's stop)")
    func lowestPidWins() throws {
        let proc = try FakeProc()
        try proc.process(1200, comm: "amazon-ecs-init", arguments: ["/usr/libexec/amazon-ecs-init", "stop"])
        try proc.process(812, comm: "amazon-ecs-init", arguments: ["/usr/libexec/amazon-ecs-init", "start"])
        #expect(EcsInitProcess.find(procRoot: proc.root) == .running(pid: 812, command: "/usr/libexec/amazon-ecs-init start"))
    }

    @Test("does not take look-alikes for ecs-init: the volume plugin, other names containing it")
    func ignoresLookAlikes() throws {
        let proc = try FakeProc()
        try proc.process(500, comm: "amazon-ecs-volu", arguments: ["/usr/libexec/amazon-ecs-volume-plugin"])
        try proc.process(501, comm: "my-ecs-init-hel", arguments: ["/opt/my-ecs-init-helper"])
        try proc.process(502, comm: "vim", arguments: ["vim", "/usr/libexec/amazon-ecs-init"])
        #expect(EcsInitProcess.find(procRoot: proc.root) == .notRunning)
    }

    @Test("an ecs-init in another PID namespace (a container, a booted test machine) is not this host's")
    func ignoresOtherNamespaces() throws {
        let proc = try FakeProc()
        try proc.process(4000, comm: "amazon-ecs-init", arguments: ["/usr/libexec/amazon-ecs-init", "start"], namespace: "pid:[4026532999]")
        #expect(EcsInitProcess.find(procRoot: proc.root) == .notRunning)
        // Its namespace unreadable: it counts.
        try proc.process(4100, comm: "amazon-ecs-init", arguments: ["/usr/libexec/amazon-ecs-init", "start"], namespace: nil)
        #expect(EcsInitProcess.find(procRoot: proc.root) == .running(pid: 4100, command: "/usr/libexec/amazon-ecs-init start"))
        // ecsvpcd's own namespace unreadable: every ecs-init counts.
        let unknownSelf = try FakeProc(selfNamespace: nil)
        try unknownSelf.process(4000, comm: "amazon-ecs-init", arguments: ["/usr/libexec/amazon-ecs-init", "start"], namespace: "pid:[4026532999]")
        #expect(EcsInitProcess.find(procRoot: unknownSelf.root) == .running(pid: 4000, command: "/usr/libexec/amazon-ecs-init start"))
    }

    @Test("skips entries that are not processes and processes gone while read (empty or missing files)")
    func skipsNonProcesses() throws {
        let proc = try FakeProc()
        try FileManager.default.createDirectory(atPath: "\(proc.root)/net", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(proc.root)/999", withIntermediateDirectories: true)
        try proc.process(1000, comm: "", arguments: [])
        #expect(EcsInitProcess.find(procRoot: proc.root) == .notRunning)
    }

    @Test("an unreadable /proc is unknown, naming the path and the reason")
    func unreadableProcIsUnknown() {
        guard case .unknown(let why) = EcsInitProcess.find(procRoot: "/nonexistent/proc") else {
            Issue.record("expected unknown")
            return
        }
        #expect(why.contains("/nonexistent/proc"))
        #expect(why.contains("No such file or directory"))
    }
}
