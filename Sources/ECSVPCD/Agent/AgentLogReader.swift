import ECSVPCCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What a read of the agent's log found.
public enum AgentLogStatus: Sendable, Hashable {
    /// No file at the path: not an error (not an ECS-optimized AMI, or between a rotation's rename and the next
    /// line); the container's log through Docker is the fallback.
    case missing
    /// The summary of everything read so far, across calls and rotations.
    case present(AgentLogSummary)
}

/// Why the agent's log could not be read: the path and the system's reason.
public struct AgentLogError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String

    init(_ error: SystemFileError) {
        path = error.path
        reason = String(cString: strerror(error.errno))
    }

    init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}

/// Follows `/var/log/ecs/ecs-agent.log` across daemon cycles, like `tail -F`: each `update()` reads only what
/// was appended since the last, so a cycle costs a bounded amount however big the log grows.
///
/// - At most `maxBytesPerUpdate` (4 MiB) per call. When more is pending (the first open of a 100 MiB log, or
///   a burst of debug lines), the reader jumps to the last `maxBytesPerUpdate` bytes and starts at the next
///   whole line: the newest lines are the ones that say where the agent is now. Line numbers are then counted
///   from there, and notes say so.
/// - Rotation: the agent (seelog `rollingfile`, ecs-agent/logger/log.go; seelog's rollingFileWriter.roll in
///   agent/vendor/github.com/cihub/seelog/writers_rollingfilewriter.go) closes its file, renames it
///   (`ecs-agent.log.N` by size, the default: 5 MB, 24 rolls; `ecs-agent.log.2026-12-07-03` with
///   `ECS_LOG_ROLLOVER_TYPE=date`) and creates a new `ecs-agent.log` at its next line. The reader keeps its file
///   open between calls, so on a new device+inode at the path it finishes the renamed file through that
///   descriptor, whatever its new name, then reads the new file from its start. No rolled name is guessed.
/// - A file smaller than the offset was truncated in place: read again from 0.
/// - A last line without its newline is kept (up to `maxLineBytes`) until the newline comes; a longer line is
///   skipped to its end and counted as not parsed.
public final class AgentLogReader: Sendable {
    public let path: String
    public let maxBytesPerUpdate: Int
    private let state: Mutex<State>

    public init(path: String, maxBytesPerUpdate: Int = 4 << 20, maxLineBytes: Int = LogfmtLine.maxLength) {
        self.path = path
        self.maxBytesPerUpdate = max(maxBytesPerUpdate, 2)
        state = Mutex(State(lines: AgentLogLines(maxLineBytes: maxLineBytes)))
    }

    deinit {
        state.withLock { state in
            if let file = state.file { close(file.fd) }
        }
    }

    /// Reads what was appended since the last call. Throws when the path exists but cannot be read (no
    /// permission, a directory, a component that is not a directory).
    public func update() throws(AgentLogError) -> AgentLogStatus {
        let path = path
        let budget = maxBytesPerUpdate
        return try state.withLock { state throws(AgentLogError) -> AgentLogStatus in
            state.bytesReadLastUpdate = 0
            var info = stat()
            let found = stat(path, &info) == 0
            let problem = found ? 0 : errno
            guard found || problem == ENOENT else { throw AgentLogError(SystemFileError(path: path, errno: problem)) }
            var left = budget
            if let file = state.file, !found || file.device != UInt64(info.st_dev) || file.inode != UInt64(info.st_ino) {
                // Rotated (renamed, a new file in its place) or removed: the writer closed it first, so its rest
                // is final. Half the budget, so that the new file is read in the same call.
                defer {
                    close(file.fd)
                    state.file = nil
                }
                left -= try state.drain(path: path, limit: found ? budget / 2 : budget, finish: true)
            }
            guard found else { return .missing }
            if state.file == nil {
                guard info.st_mode & S_IFMT == S_IFREG else {
                    throw AgentLogError(path: path, reason: info.st_mode & S_IFMT == S_IFDIR ? "is a directory" : "not a regular file")
                }
                let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
                guard fd >= 0 else { throw AgentLogError(SystemFileError(path: path, errno: errno)) }
                var opened = stat()
                guard fstat(fd, &opened) == 0 else {
                    let error = errno
                    close(fd)
                    throw AgentLogError(SystemFileError(path: path, errno: error))
                }
                // The identity of what was opened, which a rename between stat and open may have changed.
                state.file = OpenFile(fd: fd, device: UInt64(opened.st_dev), inode: UInt64(opened.st_ino))
                state.lines.startFile(exactNumbers: true)
            }
            _ = try state.drain(path: path, limit: left, finish: false)
            return .present(state.lines.summary)
        }
    }

    /// Reads the container's log as the Docker Engine returns it (already demultiplexed), for hosts without the
    /// log file. Each call's bytes are whole lines; their numbers count from 1 in each batch.
    public func add(containerLog bytes: [UInt8], source: String) -> AgentLogSummary {
        state.withLock { state in
            state.lines.startFile(exactNumbers: true)
            bytes.withUnsafeBufferPointer { state.lines.feed($0, source: source, offset: 0) }
            state.lines.finish(source: source)
            return state.lines.summary
        }
    }

    /// Everything read so far.
    public var summary: AgentLogSummary { state.withLock { $0.lines.summary } }

    /// Where the first line that was not logfmt is, `PATH:LINE`, for a note.
    public var firstUnparsed: String? { state.withLock { $0.lines.firstUnparsed } }

    /// Bytes read by the last `update()`, never more than `maxBytesPerUpdate`.
    public var bytesReadLastUpdate: Int { state.withLock { $0.bytesReadLastUpdate } }

    /// Bytes jumped over since the reader was made, to stay within `maxBytesPerUpdate`.
    public var bytesSkipped: Int { state.withLock { $0.bytesSkipped } }

    private struct OpenFile {
        var fd: Int32
        var device: UInt64
        var inode: UInt64
        var offset = 0
    }

    private struct State {
        var file: OpenFile?
        var lines: AgentLogLines
        var bytesReadLastUpdate = 0
        var bytesSkipped = 0

        /// Reads the open file from its offset to its current size, at most `limit` bytes (the newest ones when
        /// more is pending); with `finish`, a last line without a newline is read too. Returns the bytes read.
        mutating func drain(path: String, limit: Int, finish: Bool) throws(AgentLogError) -> Int {
            guard var file, limit > 0 else { return 0 }
            defer { self.file = file }
            var info = stat()
            guard fstat(file.fd, &info) == 0 else { throw AgentLogError(SystemFileError(path: path, errno: errno)) }
            let size = Int(info.st_size)
            if size < file.offset {
                // Truncated in place (copytruncate): what is there now is new.
                file.offset = 0
                lines.startFile(exactNumbers: true)
            }
            if size - file.offset > limit {
                bytesSkipped += size - limit - file.offset
                file.offset = size - limit
                // A jump lands mid-line unless the byte before is a newline.
                var before: UInt8 = 0
                let atLineStart = pread(file.fd, &before, 1, off_t(file.offset - 1)) == 1 && before == 0x0A
                lines.startFile(exactNumbers: false, resync: !atLineStart)
            }
            var chunk = [UInt8](repeating: 0, count: min(64 << 10, max(size - file.offset, 1)))
            var total = 0
            while file.offset < size {
                let want = min(chunk.count, size - file.offset)
                let n = chunk.withUnsafeMutableBytes { pread(file.fd, $0.baseAddress, want, off_t(file.offset)) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw AgentLogError(SystemFileError(path: path, errno: errno))
                }
                if n == 0 { break }
                let start = file.offset
                chunk.withUnsafeBufferPointer { lines.feed(UnsafeBufferPointer(rebasing: $0[0..<n]), source: path, offset: start) }
                file.offset += n
                total += n
            }
            if finish { lines.finish(source: path) }
            bytesReadLastUpdate += total
            return total
        }
    }
}

/// Splits bytes into lines and reads each into the summary: a partial last line is kept for the next bytes,
/// one longer than `maxLineBytes` is dropped to its end and counted as not parsed. Memory: one line at most.
struct AgentLogLines {
    let maxLineBytes: Int
    var summary = AgentLogSummary()
    /// `PATH:LINE` of the first line that was not logfmt.
    var firstUnparsed: String?
    private var lineNumber = 0
    private var exactNumbers = true
    private var carry: [UInt8] = []
    private var overlong = false
    /// Dropping bytes up to the next newline, after a jump into the middle of a line.
    private var resyncing = false
    private var lineStart = 0

    init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
    }

    /// A new file, or a new place in one: numbering restarts, a kept partial line is dropped.
    mutating func startFile(exactNumbers: Bool, resync: Bool = false) {
        lineNumber = 0
        self.exactNumbers = exactNumbers
        carry.removeAll(keepingCapacity: false)
        overlong = false
        resyncing = resync
    }

    /// `offset`: where `bytes` start in the source, for notes about lines whose number is not exact.
    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, source: String, offset: Int) {
        var start = 0
        while start < bytes.count {
            let newline = bytes[start...].firstIndex(of: 0x0A)
            let end = newline ?? bytes.count
            if !resyncing && !overlong && carry.isEmpty { lineStart = offset + start }
            if resyncing {
                if newline != nil { resyncing = false }
            } else if overlong || carry.count + (end - start) > maxLineBytes {
                carry.removeAll(keepingCapacity: false)
                overlong = newline == nil
                if newline != nil { unparsable(source: source) }
            } else if newline == nil {
                carry += bytes[start..<end]
            } else if carry.isEmpty {
                line(bytes[start..<end], source: source)
            } else {
                carry += bytes[start..<end]
                line(carry, source: source)
                carry.removeAll(keepingCapacity: true)
            }
            start = end + 1
        }
    }

    /// The end of a source: a kept partial line is read as it is.
    mutating func finish(source: String) {
        if overlong {
            unparsable(source: source)
        } else if !carry.isEmpty {
            line(carry, source: source)
        }
        carry.removeAll(keepingCapacity: false)
        overlong = false
        resyncing = false
    }

    private mutating func line(_ bytes: some Collection<UInt8>, source: String) {
        lineNumber += 1
        let before = summary.linesNotParsed
        summary.add(line: bytes, number: lineNumber)
        if summary.linesNotParsed > before { noteFirst(source: source) }
    }

    private mutating func unparsable(source: String) {
        lineNumber += 1
        summary.addUnparsable(number: lineNumber)
        noteFirst(source: source)
    }

    private mutating func noteFirst(source: String) {
        guard firstUnparsed == nil else { return }
        firstUnparsed = exactNumbers ? "\(source):\(lineNumber)" : "\(source): the line at byte \(lineStart)"
    }
}
