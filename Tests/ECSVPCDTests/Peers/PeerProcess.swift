import Foundation
import Synchronization

/// A real peer (dnsmasq, a listener, the instance-metadata emulator, ecsvpcd itself) run as a child process.
///
/// Spawned with posix_spawn, an empty signal mask and default signal dispositions (Foundation's `Process` passes
/// on the test thread's blocked signals, so SIGHUP and SIGTERM would stay pending in the child), and reaped with
/// its own `waitpid`. Stopped on `stop()` or when released; its pid is also written under `ECSVPCD_TEST_RUN_DIR`
/// so that scripts/test kills anything a crashed test run left behind.
final class PeerProcess: @unchecked Sendable {
    /// The child's state, under the names Foundation's `Process` uses.
    final class Child: Sendable {
        let processIdentifier: Int32
        private let status = Mutex<Int32?>(nil)

        init(pid: Int32) { processIdentifier = pid }

        var isRunning: Bool { reap(block: false) == nil }

        /// The exit code, or 128 + the signal that ended it; -1 while running.
        var terminationStatus: Int32 { reap(block: false) ?? -1 }

        func waitUntilExit() { _ = reap(block: true) }

        private func reap(block: Bool) -> Int32? {
            status.withLock { status in
                if let status { return status }
                var raw: Int32 = 0
                let result = waitpid(processIdentifier, &raw, block ? 0 : WNOHANG)
                guard result == processIdentifier else {
                    if result < 0 && errno == ECHILD { status = -2 }
                    return status
                }
                let low = raw & 0x7f
                status = low == 0 ? (raw >> 8) & 0xff : 128 + low
                return status
            }
        }
    }

    let process: Child
    let name: String
    private let pidFile: URL?

    init(_ executable: String, _ arguments: [String], name: String, environment: [String: String]? = nil) throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        for signal in [SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // The test process's sockets (NIO listeners) are not close-on-exec: a child must not keep them open.
        // glibc ≥ 2.34 has posix_spawn_file_actions_addclosefrom_np; Swift's Glibc module does not export it.
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
            typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
            _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
        }

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let environmentList = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let envp = environmentList.map { strdup($0) } + [nil]
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw PeerProcessError(description: "cannot start \(name) (\(executable)): \(String(cString: strerror(result)))")
        }
        process = Child(pid: pid)
        self.name = name
        if let dir = ProcessInfo.processInfo.environment["ECSVPCD_TEST_RUN_DIR"] {
            let url = URL(fileURLWithPath: dir).appendingPathComponent("peer-\(pid).pid")
            try? "\(pid)\n".write(to: url, atomically: true, encoding: .utf8)
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

struct PeerProcessError: Error, CustomStringConvertible {
    let description: String
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
