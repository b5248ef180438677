/// Overall health, with the monitoring-plugin exit codes (0 ok, 1 warning, 2 critical, 3 unknown).
public enum Health: String, Sendable, Codable, Comparable {
    case ok
    case warning
    case critical
    case unknown

    public var exitCode: Int32 {
        switch self {
        case .ok: 0
        case .warning: 1
        case .critical: 2
        case .unknown: 3
        }
    }

    /// Ordering by severity for "worst of": ok < unknown < warning < critical.
    private var rank: Int {
        switch self {
        case .ok: 0
        case .unknown: 1
        case .warning: 2
        case .critical: 3
        }
    }

    public static func < (lhs: Health, rhs: Health) -> Bool { lhs.rank < rhs.rank }
}

/// How much a finding matters.
public enum Severity: String, Sendable, Codable, Comparable {
    case info
    case warning
    case critical

    private var rank: Int {
        switch self {
        case .info: 0
        case .warning: 1
        case .critical: 2
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }

    public var health: Health {
        switch self {
        case .info: .ok
        case .warning: .warning
        case .critical: .critical
        }
    }
}

/// Something an operator should know, with what to do about it.
public struct Finding: Hashable, Sendable, Codable {
    /// A stable identifier (`endpoint-not-accepting`, `custom-dns-bypass`, …) for alerting and docs.
    public var id: String
    public var severity: Severity
    public var message: String
    public var hint: String

    public init(id: String, severity: Severity, message: String, hint: String) {
        self.id = id
        self.severity = severity
        self.message = message
        self.hint = hint
    }
}
