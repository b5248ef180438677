import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Plain, readable lines on stderr (`WARNING message key=value …`), for a terminal or any supervisor
/// that is not journald. When stderr is not a terminal each line starts with the sd-daemon(3) `<N>`
/// priority prefix, which journald's stream transport and many log collectors understand.
public struct StderrLogHandler: LogHandler {
    public let label: String
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata
    public var metadataProvider: Logger.MetadataProvider?
    /// Whether lines carry the `<N>` prefix; by default when stderr is not a terminal.
    public var priorityPrefix: Bool

    public init(
        label: String,
        level: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = nil,
        priorityPrefix: Bool = isatty(STDERR_FILENO) == 0
    ) {
        self.label = label
        self.logLevel = level
        self.metadata = [:]
        self.metadataProvider = metadataProvider
        self.priorityPrefix = priorityPrefix
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = mergedMetadata(handler: metadata, provider: metadataProvider, event: event.metadata)
        Self.writeLine(
            Self.line(
                level: event.level,
                message: event.message.description,
                metadata: merged,
                priorityPrefix: priorityPrefix
            )
        )
    }

    /// One record as one line: `[<N>]LEVEL message key=value …`, metadata sorted by key, values with spaces
    /// quoted, newlines escaped so a record never spans lines.
    public static func line(
        level: Logger.Level,
        message: String,
        metadata: Logger.Metadata,
        priorityPrefix: Bool = false
    ) -> String {
        var line = priorityPrefix ? "<\(level.syslogPriority)>" : ""
        line += level.rawValue.uppercased()
        line += " "
        line += escaped(message)
        for key in metadata.keys.sorted() {
            guard let value = metadata[key] else { continue }
            line += " \(key)=\(quoted(JournalLogHandler.render(value)))"
        }
        return line
    }

    /// Writes one line with a single write(2), so concurrent records do not interleave.
    static func writeLine(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = write(STDERR_FILENO, base + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }

    private static func escaped(_ text: String) -> String {
        guard text.contains(where: \.isNewline) else { return text }
        var result = ""
        for character in text {
            switch character {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\r\n": result += "\\r\\n"
            default: result.append(character)
            }
        }
        return result
    }

    private static func quoted(_ value: String) -> String {
        let value = escaped(value)
        guard value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) else { return value }
        return "\"" + value.replacingQuotes() + "\""
    }
}

extension String {
    fileprivate func replacingQuotes() -> String {
        var result = ""
        for character in self {
            if character == "\"" || character == "\\" { result.append("\\") }
            result.append(character)
        }
        return result
    }
}
