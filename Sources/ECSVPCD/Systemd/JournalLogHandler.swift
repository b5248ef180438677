import CSystemd
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes log records to the systemd journal as structured entries, so operators can filter on the
/// daemon's own fields (`journalctl ECSVPCD_ENDPOINT=…`) and catalogued `MESSAGE_ID`s explain themselves.
///
/// Metadata keys become fields named `ECSVPCD_<KEY>`; the key `message_id` becomes `MESSAGE_ID`.
public struct JournalLogHandler: LogHandler {
    public static let syslogIdentifier = "ecsvpcd"
    /// The metadata key whose value becomes the journal's `MESSAGE_ID` field (see ``MessageID``).
    public static let messageIDKey = "message_id"

    public let label: String
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata
    public var metadataProvider: Logger.MetadataProvider?

    public init(label: String, level: Logger.Level = .info, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.logLevel = level
        self.metadata = [:]
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = mergedMetadata(handler: metadata, provider: metadataProvider, event: event.metadata)
        let fields = Self.fields(
            for: label,
            level: event.level,
            message: event.message.description,
            metadata: merged,
            file: event.file,
            function: event.function,
            line: event.line
        )
        if Self.send(fields) != 0 {
            // No journal to talk to (journald stopped or not there): the record still goes somewhere.
            StderrLogHandler.writeLine(
                StderrLogHandler.line(
                    level: event.level,
                    message: event.message.description,
                    metadata: merged,
                    priorityPrefix: isatty(STDERR_FILENO) == 0
                )
            )
        }
    }

    /// The journal fields of one record, in the order they are sent.
    public static func fields(
        for label: String,
        level: Logger.Level,
        message: String,
        metadata: Logger.Metadata,
        file: String,
        function: String,
        line: UInt
    ) -> [(String, String)] {
        var fields: [(String, String)] = [
            ("MESSAGE", message),
            ("PRIORITY", String(level.syslogPriority)),
            ("SYSLOG_IDENTIFIER", syslogIdentifier),
            ("CODE_FILE", file),
            ("CODE_LINE", String(line)),
            ("CODE_FUNC", function),
        ]
        if !label.isEmpty { fields.append(("ECSVPCD_LOGGER", label)) }
        for key in metadata.keys.sorted() {
            guard let value = metadata[key] else { continue }
            let name = key == messageIDKey ? "MESSAGE_ID" : fieldName(forMetadataKey: key)
            fields.append((name, render(value)))
        }
        return fields
    }

    /// `ECSVPCD_` and the key uppercased, anything outside `[A-Z0-9_]` replaced by `_`, at most 64 characters
    /// (journal field names may not start with `_` or a digit, and the prefix sees to that).
    public static func fieldName(forMetadataKey key: String) -> String {
        var name = "ECSVPCD_"
        for scalar in key.unicodeScalars {
            guard name.utf8.count < maximumFieldNameLength else { break }
            switch scalar {
            case "A"..."Z", "0"..."9", "_": name.unicodeScalars.append(scalar)
            case "a"..."z": name.unicodeScalars.append(Unicode.Scalar(scalar.value - 32) ?? "_")
            default: name.unicodeScalars.append("_")
            }
        }
        return name
    }

    static let maximumFieldNameLength = 64

    /// Strings as they are, arrays joined with commas, dictionaries as `key=value` pairs sorted by key.
    static func render(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let string): string
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): values.map(render).joined(separator: ",")
        case .dictionary(let dictionary):
            dictionary.keys.sorted().compactMap { key in dictionary[key].map { "\(key)=\(render($0))" } }
                .joined(separator: ",")
        }
    }

    /// Hands the fields to journald in one `sd_journal_sendv` call; returns its result (0 or -errno).
    @discardableResult
    static func send(_ fields: [(String, String)]) -> Int32 {
        var buffer: [UInt8] = []
        var ranges: [Range<Int>] = []
        for (name, value) in fields {
            let start = buffer.count
            buffer.append(contentsOf: name.utf8)
            buffer.append(UInt8(ascii: "="))
            buffer.append(contentsOf: value.utf8)
            ranges.append(start..<buffer.count)
        }
        return buffer.withUnsafeMutableBytes { bytes in
            guard let base = bytes.baseAddress else { return -EINVAL }
            let vectors = ranges.map { iovec(iov_base: base + $0.lowerBound, iov_len: $0.count) }
            return vectors.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) }
        }
    }
}

extension Logger.Level {
    /// The syslog priority journald and the sd-daemon(3) `<N>` prefixes use.
    var syslogPriority: Int {
        switch self {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}

/// Handler metadata, then the provider's, then the call's own: later ones win.
func mergedMetadata(
    handler: Logger.Metadata,
    provider: Logger.MetadataProvider?,
    event: Logger.Metadata?
) -> Logger.Metadata {
    var merged = handler
    if let provided = provider?.get(), !provided.isEmpty {
        merged.merge(provided) { _, new in new }
    }
    if let event, !event.isEmpty {
        merged.merge(event) { _, new in new }
    }
    return merged
}
