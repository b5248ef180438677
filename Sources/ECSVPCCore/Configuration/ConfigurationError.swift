/// A configuration problem, naming where it is and what was expected, so the fix is obvious.
public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public static let unknownKey = Code(name: "unknown key")
        public static let badValue = Code(name: "bad value")
        public static let duplicateKey = Code(name: "duplicate key")
        public static let syntax = Code(name: "syntax error")
        public static let unreadable = Code(name: "unreadable file")
        public var description: String { name }
    }

    public var code: Code
    /// The file, or `environment` when the value came from an environment variable.
    public var source: String
    /// 1-based line number in the file; nil for the environment or the whole file.
    public var line: Int?
    public var key: String?
    public var detail: String

    public init(code: Code, source: String, line: Int?, key: String?, detail: String) {
        self.code = code
        self.source = source
        self.line = line
        self.key = key
        self.detail = detail
    }

    public var description: String {
        var location = source
        if let line { location += ":\(line)" }
        let what = key.map { "\(code) \($0)" } ?? "\(code)"
        return "\(location): \(what): \(detail)"
    }
}
