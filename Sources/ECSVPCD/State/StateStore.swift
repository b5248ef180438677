import ECSVPCCore
import FoundationEssentials
import Glibc
import Logging

/// The daemon's memory on disk: the restart ledger (`state.json`) and the last status document (`status.json`),
/// each written atomically (temporary file, fsync, rename, fsync of the directory).
public struct StateStore: Sendable {
    /// The state file's content, versioned like the status document.
    struct StateFile: Codable {
        var schema: Int
        var ledger: RestartLedger
    }

    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public var statePath: String { directory + "/state.json" }
    public var statusPath: String { directory + "/status.json" }

    /// The saved ledger, a fresh one when there is none, and a fresh one when the file is corrupt: the corrupt file
    /// is moved aside (never deleted) and the problem logged, so the daemon always starts.
    public func loadLedger(logger: Logger) -> RestartLedger {
        guard FileManager.default.fileExists(atPath: statePath) else { return RestartLedger() }
        do {
            let data = Data(try SystemFile.read(statePath))
            let file = try StatusDocument.decoder().decode(StateFile.self, from: data)
            guard file.schema == 1 else {
                throw StateError(detail: "schema \(file.schema) is not one this version reads (1)")
            }
            return file.ledger
        } catch {
            let aside = statePath + ".corrupt-" + String(Int(Date().timeIntervalSince1970))
            let moved = (try? FileManager.default.moveItem(atPath: statePath, toPath: aside)) != nil
            let what = moved ? "moved it to \(aside) and" : "could not move it aside;"
            logger.error(
                "The state file \(statePath) cannot be read (\(Self.describe(error))); \(what) starting with an empty restart history. Cooldown and budget restart from zero.",
                metadata: ["reason": "\(Self.describe(error))"]
            )
            return RestartLedger()
        }
    }

    /// Identifies the state file's current content (modification time and size), nil when there is none.
    public func ledgerStamp() -> String? {
        var info = stat()
        guard stat(statePath, &info) == 0 else { return nil }
        return "\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec):\(info.st_size):\(info.st_ino)"
    }

    public func saveLedger(_ ledger: RestartLedger) throws {
        let encoder = StatusDocument.encoder()
        try write(try encoder.encode(StateFile(schema: 1, ledger: ledger)), to: statePath, durable: true)
    }

    /// The status snapshot is rewritten every cycle (at most once a second) and is only ever a copy of what the
    /// daemon knows: it is replaced atomically but not synced, unlike the restart history.
    public func saveStatus(_ document: StatusDocument) throws {
        try write(try StatusDocument.encoder().encode(document), to: statusPath, durable: false)
    }

    /// Writes `data` atomically (`AtomicFile`); `durable` also syncs the file and the directory.
    func write(_ data: Data, to path: String, durable: Bool) throws {
        try AtomicFile.write(data, to: path, in: directory, durable: durable)
    }

    /// open(2) of a file in the state directory, creating the directory (and its parents) only when it is missing:
    /// every cycle opens these files, and the directory is there but once. -1 with `errno` set when open fails.
    static func openCreatingDirectory(_ path: String, in directory: String, flags: Int32, mode: mode_t) throws(StateError) -> Int32 {
        let fd = open(path, flags, mode)
        guard fd < 0 && errno == ENOENT else { return fd }
        try AtomicFile.makeDirectories(directory)
        return open(path, flags, mode)
    }

    static func describe(_ error: any Error) -> String {
        if let decoding = error as? DecodingError {
            switch decoding {
            case .dataCorrupted(let context): return "not valid JSON: \(context.debugDescription)"
            case .keyNotFound(let key, _): return "missing field \(key.stringValue)"
            case .typeMismatch(_, let context), .valueNotFound(_, let context):
                return "bad field \(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
            @unknown default: return "\(decoding)"
            }
        }
        return "\(error)"
    }
}

public struct StateError: Error, Sendable, CustomStringConvertible {
    public var detail: String
    public var description: String { detail }
}
