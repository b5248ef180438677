#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why a file, link or directory could not be read: the path and the system's reason.
struct SystemFileError: Error, Sendable, CustomStringConvertible {
    var path: String
    var errno: Int32

    var description: String { "\(path): \(String(cString: strerror(errno)))" }
    var isMissing: Bool { errno == ENOENT || errno == ESRCH }
}

/// Small blocking reads of regular files, /proc entries and symbolic links, with errno kept for the reason.
enum SystemFile {
    /// The whole file; more than `limit` bytes is an error (EFBIG), never a silent cut.
    static func read(_ path: String, limit: Int = 64 << 20) throws(SystemFileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemFileError(path: path, errno: errno) }
        defer { close(fd) }
        var result: [UInt8] = []
        // 4 KiB at a time (a /proc file hands out a page per read anyway): these files are small, and a 64 KiB
        // zeroed buffer per read (a daemon reads a few every cycle) kept that much more of the heap resident.
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemFileError(path: path, errno: errno)
            }
            if n == 0 { return result }
            result += chunk[0..<n]
            // Past the limit is an error, not a cut: a partial /proc/net/tcp would answer wrongly.
            if result.count > limit { throw SystemFileError(path: path, errno: EFBIG) }
        }
    }

    static func readText(_ path: String) throws(SystemFileError) -> String {
        String(decoding: try read(path), as: UTF8.self)
    }

    static func readLink(_ path: String) throws(SystemFileError) -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { raw -> Int in
            guard let base = raw.baseAddress else { return -1 }
            return readlink(path, base.assumingMemoryBound(to: CChar.self), raw.count - 1)
        }
        guard n >= 0 else { throw SystemFileError(path: path, errno: errno) }
        return String(decoding: buffer[0..<n], as: UTF8.self)
    }

    /// The names in a directory, without `.` and `..`.
    static func list(_ path: String) throws(SystemFileError) -> [String] {
        guard let dir = opendir(path) else { throw SystemFileError(path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
