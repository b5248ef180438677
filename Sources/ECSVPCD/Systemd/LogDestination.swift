import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where log records go (`ECSVPCD_LOG`): `auto` picks the journal when systemd connected stderr to it.
///
/// The executable bootstraps swift-log once, with `makeHandler` as the factory.
public enum LogDestination: String, Sendable, CaseIterable {
    case auto, journal, stderr

    /// `journal` or `stderr`: `auto` becomes `journal` when `JOURNAL_STREAM` names the file stderr is
    /// (systemd sets it for services whose output goes to the journal), else `stderr`.
    public func resolved(environment: [String: String] = processEnvironment()) -> LogDestination {
        guard self == .auto else { return self }
        return Self.isJournalStream(environment["JOURNAL_STREAM"], fileDescriptor: STDERR_FILENO) ? .journal : .stderr
    }

    public func makeHandler(
        label: String,
        level: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = nil
    ) -> any LogHandler {
        switch resolved() {
        case .journal: JournalLogHandler(label: label, level: level, metadataProvider: metadataProvider)
        case .auto, .stderr: StderrLogHandler(label: label, level: level, metadataProvider: metadataProvider)
        }
    }

    /// Whether `JOURNAL_STREAM` (`DEVICE:INODE`, decimal) matches `fstat(fileDescriptor)`.
    static func isJournalStream(_ value: String?, fileDescriptor: Int32) -> Bool {
        guard let value else { return false }
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var status = stat()
        guard fstat(fileDescriptor, &status) == 0 else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }
}
