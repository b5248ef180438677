import FoundationEssentials
import Glibc

/// The control socket's place in the file system: the runtime directory, the mode and group, and the
/// atomic swap that puts a fully secured socket at the well-known path.
///
/// The socket is bound under a temporary name, given its mode and group, and only then renamed to `path`,
/// so there is no moment when it is reachable with the umask's permissions.
struct ControlSocketFile: Sendable {
    let path: String

    /// Why the socket could not be put in place, naming the path.
    struct SetupError: Error, Sendable, CustomStringConvertible {
        var description: String
    }

    /// Where to bind before the rename; in the same directory, so the rename stays on one file system.
    var temporaryPath: String { path + ".\(getpid()).new" }

    /// Resolves a group name to its gid (nil: no such group).
    static func groupID(named name: String) -> UInt32? {
        var group = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        let status = getgrnam_r(name, &group, &buffer, buffer.count, &result)
        guard status == 0, let result else { return nil }
        return result.pointee.gr_gid
    }

    /// Creates the runtime directory (mode 0755) if it is missing; a unix socket path must fit in 107 bytes.
    func prepareDirectory() throws {
        guard path.utf8.count + ".\(Int32.max).new".utf8.count < 108 else {
            throw SetupError(description: "\(path): too long for a unix socket path (at most 107 bytes with room for a temporary name)")
        }
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        guard !directory.isEmpty else { return }
        var info = stat()
        if stat(directory, &info) == 0 { return }
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755]
            )
        } catch {
            throw SetupError(description: "\(directory): cannot create the runtime directory: \(error)")
        }
        chmod(directory, 0o755)
    }

    /// Removes a socket left at the temporary name by an earlier run that died.
    func removeStaleTemporary() {
        var info = stat()
        if lstat(temporaryPath, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK { unlink(temporaryPath) }
    }

    /// Mode 0660 and the status group, or 0600 when there is no group to give it (the returned mode says which).
    func secure(_ socketPath: String, gid: UInt32?) -> (mode: mode_t, groupError: String?) {
        if let gid {
            // Under the unit (Group=adm) the socket is born with the group, and chown is filtered: skip it then.
            var info = stat()
            let hasGroup = lstat(socketPath, &info) == 0 && info.st_gid == gid
            if hasGroup || chown(socketPath, uid_t.max, gid) == 0, chmod(socketPath, 0o660) == 0 { return (0o660, nil) }
            let reason = String(cString: strerror(errno))
            chmod(socketPath, 0o600)
            return (0o600, "cannot give the control socket to gid \(gid): \(reason)")
        }
        chmod(socketPath, 0o600)
        return (0o600, nil)
    }

    /// Moves the bound socket to `path`, replacing a stale socket but refusing to replace a live one or
    /// anything that is not a socket.
    func install(from bound: String) throws {
        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFSOCK else {
                throw SetupError(description: "\(path) exists and is not a socket; remove it")
            }
            if Self.accepts(path) {
                throw SetupError(description: "\(path): another ecsvpcd is already serving this control socket")
            }
        }
        guard rename(bound, path) == 0 else {
            throw SetupError(description: "\(path): cannot move the socket into place: \(String(cString: strerror(errno)))")
        }
    }

    /// The inode at `path`, to remove only our own socket at the end.
    func inode() -> (dev: UInt, ino: UInt)? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return (UInt(info.st_dev), UInt(info.st_ino))
    }

    /// Removes the socket if it is still the one we bound (another daemon may have replaced it since).
    func remove(ifInode expected: (dev: UInt, ino: UInt)?) {
        guard let expected, let current = inode(), current == expected else { return }
        unlink(path)
    }

    /// Whether something accepts connections on the unix socket at `path`.
    static func accepts(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return UnixSocketAddress(path: path)?.dial(fd) == 0
    }
}

/// A `sockaddr_un` for a file-system path.
struct UnixSocketAddress {
    private var address = sockaddr_un()

    init?(path: String) {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
    }

    /// `connect(2)`: 0, or -1 with `errno` set.
    func dial(_ fd: Int32) -> Int32 {
        var address = self.address
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }
}
