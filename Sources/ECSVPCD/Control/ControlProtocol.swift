import ECSVPCCore
import FoundationEssentials
import Glibc

/// The control socket's protocol: one request line in, one reply line out, then the daemon closes.
///
/// The socket is a unix stream socket, `ECSVPCD_RUNTIME_DIR/control.sock` (default
/// `/run/ecsvpcd/control.sock`), mode 0660, owned by root and the group `ECSVPCD_STATUS_GROUP`
/// (default `adm`; if that group does not exist, mode 0600 and root only).
///
/// A client writes one JSON object on one line, ending in `\n`, at most 4096 bytes including the newline,
/// within 2 seconds of connecting. The daemon answers with one JSON object on one line and closes.
///
/// Requests:
///
///     {"command":"status"}                             the daemon's current status document
///     {"command":"reprobe"}                            observe now instead of at the next interval (root)
///     {"command":"restart-agent","reason":"TEXT"}      restart the ECS agent now, bypassing the debounce
///                                                      but not the safety checks (root; reason optional)
///
/// Replies:
///
///     {"ok":true,"status":{...status document, schema 1...}}
///     {"ok":true,"message":"TEXT"}                     an action was accepted; TEXT says what happens next
///     {"ok":false,"error":"CODE","message":"TEXT"}     TEXT says what was wrong and what to do
///
/// Error codes:
///
/// | code | meaning |
/// |---|---|
/// | `bad-request` | the line is not a JSON object with a string `command` |
/// | `too-large` | no newline within the first 4096 bytes |
/// | `timeout` | no complete line within 2 seconds |
/// | `forbidden` | `status` needs root or the status group; actions need root |
/// | `unknown-command` | `command` is none of the above |
/// | `failed` | the daemon could not do it now (the message says why) |
///
/// Readers must ignore fields they do not know; codes and fields are only ever added.
public enum ControlRequest: Sendable, Hashable {
    case status
    case reprobe
    case restartAgent(reason: String)

    /// The longest request line, newline included.
    public static let maxLineBytes = 4096

    /// The reason recorded when `restart-agent` comes without one.
    public static let defaultRestartReason = "requested over the control socket"

    /// The `command` string on the wire.
    public var command: String {
        switch self {
        case .status: "status"
        case .reprobe: "reprobe"
        case .restartAgent: "restart-agent"
        }
    }

    /// Whether only root may ask for it.
    public var isAction: Bool { self != .status }

    /// Parses one request line (without its newline), or says which error to answer with.
    public static func parse(_ line: some Collection<UInt8>) -> Result<ControlRequest, ControlReply.Failure> {
        let wire: Wire
        do {
            wire = try JSONDecoder().decode(Wire.self, from: Data(line))
        } catch {
            return .failure(
                ControlReply.Failure(
                    .badRequest,
                    "expected one JSON object with a string \"command\" on one line, e.g. {\"command\":\"status\"}"
                )
            )
        }
        switch wire.command {
        case "status": return .success(.status)
        case "reprobe": return .success(.reprobe)
        case "restart-agent":
            let reason = wire.reason?.trimmingWhitespace() ?? ""
            return .success(.restartAgent(reason: reason.isEmpty ? defaultRestartReason : reason))
        default:
            return .failure(
                ControlReply.Failure(
                    .unknownCommand,
                    "unknown command \"\(wire.command.prefix(64))\"; known: status, reprobe, restart-agent"
                )
            )
        }
    }

    /// The request as one line, newline included.
    public func line() -> Data {
        var wire = Wire(command: command, reason: nil)
        if case .restartAgent(let reason) = self { wire.reason = reason }
        // Encoding two strings cannot fail.
        let data = (try? ControlReply.encoder.encode(wire)) ?? Data("{\"command\":\"\(command)\"}".utf8)
        return data + Data("\n".utf8)
    }

    private struct Wire: Codable {
        var command: String
        var reason: String?
    }
}

/// What the daemon answers: a status document, an action's confirmation, or a failure with its code.
public enum ControlReply: Sendable, Hashable, Codable {
    case status(StatusDocument)
    case done(message: String)
    case failure(Failure)

    /// An error reply: a code for programs, a message for people.
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        public var code: Code
        public var message: String

        public init(_ code: Code, _ message: String) {
            self.code = code
            self.message = message
        }

        public var description: String { "\(code): \(message)" }
    }

    /// An error code; a struct so codes can be added without breaking callers or older clients.
    public struct Code: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        public static let badRequest = Code(rawValue: "bad-request")
        public static let tooLarge = Code(rawValue: "too-large")
        public static let timeout = Code(rawValue: "timeout")
        public static let forbidden = Code(rawValue: "forbidden")
        public static let unknownCommand = Code(rawValue: "unknown-command")
        public static let failed = Code(rawValue: "failed")

        public var description: String { rawValue }
    }

    /// Compact JSON (never a newline inside), ISO 8601 dates, the status document's own conventions.
    static let encoder = StatusDocument.encoder(pretty: false)

    /// The reply as one line, newline included.
    public func line() -> Data {
        do {
            return try Self.encoder.encode(self) + Data("\n".utf8)
        } catch {
            return Data("{\"ok\":false,\"error\":\"failed\",\"message\":\"the reply could not be encoded\"}\n".utf8)
        }
    }

    /// Parses one reply line.
    public static func parse(_ data: Data) throws -> ControlReply {
        try StatusDocument.decoder().decode(ControlReply.self, from: data)
    }

    private enum Keys: String, CodingKey {
        case ok, status, message, error
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        if try container.decode(Bool.self, forKey: .ok) {
            if let status = try container.decodeIfPresent(StatusDocument.self, forKey: .status) {
                self = .status(status)
            } else {
                self = .done(message: try container.decode(String.self, forKey: .message))
            }
        } else {
            self = .failure(
                Failure(
                    try container.decode(Code.self, forKey: .error),
                    try container.decodeIfPresent(String.self, forKey: .message) ?? ""
                )
            )
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        switch self {
        case .status(let document):
            try container.encode(true, forKey: .ok)
            try container.encode(document, forKey: .status)
        case .done(let message):
            try container.encode(true, forKey: .ok)
            try container.encode(message, forKey: .message)
        case .failure(let failure):
            try container.encode(false, forKey: .ok)
            try container.encode(failure.code, forKey: .error)
            try container.encode(failure.message, forKey: .message)
        }
    }
}
