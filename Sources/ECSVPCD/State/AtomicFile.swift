import FoundationEssentials
import Glibc

/// Files that readers must never see half-written (the state file, the status snapshot, the SSM Inventory item,
/// the metrics file): written to `PATH.tmp` in the same directory, then renamed over `PATH`.
///
/// The temporary name ends in `.tmp`, so neither the SSM agent (it reads `*.json`) nor node_exporter's textfile
/// collector (`*.prom`) picks it up.
enum AtomicFile {
    /// Writes `data` so that a crash at any moment leaves either the old file or the new one, never a torn one;
    /// `durable` also syncs the file and the directory, so that after a power loss the new one is there. The
    /// directory (and its parents) is created when missing. The file is 0640 less the umask, or `mode` whatever
    /// the umask (node_exporter, which runs as another user, needs 0644).
    static func write(_ data: Data, to path: String, in directory: String, mode: mode_t? = nil, durable: Bool) throws(StateError) {
        let temporary = path + ".tmp"
        let fd = try StateStore.openCreatingDirectory(temporary, in: directory, flags: O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode: mode ?? 0o640)
        guard fd >= 0 else { throw StateError(detail: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var failure: String?
        if let mode, fchmod(fd, mode) != 0 { failure = "cannot set the mode of \(temporary): \(String(cString: strerror(errno)))" }
        if failure == nil {
            data.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = Glibc.write(fd, buffer.baseAddress?.advanced(by: offset), buffer.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        failure = "cannot write \(temporary): \(String(cString: strerror(errno)))"
                        return
                    }
                    offset += written
                }
            }
        }
        if failure == nil, durable, fsync(fd) != 0 { failure = "cannot fsync \(temporary): \(String(cString: strerror(errno)))" }
        // close(2) reports the write errors a network or quota-limited file system defers to it.
        if close(fd) != 0, failure == nil { failure = "cannot write \(temporary): \(String(cString: strerror(errno)))" }
        if let failure {
            unlink(temporary)
            throw StateError(detail: failure)
        }
        guard rename(temporary, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(temporary)
            throw StateError(detail: "cannot rename \(temporary) to \(path): \(why)")
        }
        guard durable else { return }
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
    }

    /// `mkdir -p`: the directory and its missing parents (0755 less the umask). The error names the directory
    /// that could not be made and the system's reason, the same text every time (it is logged once per reason).
    static func makeDirectories(_ path: String) throws(StateError) {
        var made = ""
        for component in path.split(separator: "/") {
            made += "/" + component
            if mkdir(made, 0o755) != 0, errno != EEXIST {
                throw StateError(detail: "cannot create the directory \(made): \(String(cString: strerror(errno)))")
            }
        }
    }
}
