import Glibc

/// An exclusive lock on `STATE_DIR/restart.lock` (flock), so the daemon and `ecsvpcd rollout` never restart the
/// agent at the same time and never overwrite each other's restart history. Released when the value is released
/// (or the process dies: the kernel drops flock locks with the descriptor).
public final class RestartLock: Sendable {
    private let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    /// Takes the lock, waiting up to `wait` (zero: try once). Nil when another process holds it that long.
    public static func acquire(stateDir: String, wait: Duration) async throws -> RestartLock? {
        let path = stateDir + "/restart.lock"
        let fd = try StateStore.openCreatingDirectory(path, in: stateDir, flags: O_RDWR | O_CREAT | O_CLOEXEC, mode: 0o600)
        guard fd >= 0 else { throw StateError(detail: "cannot open \(path): \(String(cString: strerror(errno)))") }
        let deadline = ContinuousClock.now + wait
        while true {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return RestartLock(fd: fd) }
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let why = String(cString: strerror(errno))
                close(fd)
                throw StateError(detail: "cannot lock \(path): \(why)")
            }
            if ContinuousClock.now >= deadline {
                close(fd)
                return nil
            }
            try await LoopSleep.sleep(for: .milliseconds(200))
        }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
