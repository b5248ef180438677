import FoundationEssentials

// The agent's log, read as a record of which hosts it really dials. Message texts and field names are those of
// aws/amazon-ecs-agent 1.105.1 (8dfceca):
// - line format: ecs-agent/logger/log.go (`logfmtFormatter`: `level=… time=… ` then the message, time in UTC as
//   time.RFC3339) and ecs-agent/logger/format.go (`msg=%q`, then `key=%q` for strings and errors, `key=%+v` else);
// - websockets: ecs-agent/wsclient/client.go ("Establishing a Websocket connection" url=,
//   "Websocket connection established." URL= ConnectTime= maxConnectionDuration= ExpectedDisconnectTime=, in
//   dateTimeFormat "2006-01-02 15:04:05"; "Closing connection"/"Disconnected from server." URL=);
// - discovery: ecs-agent/api/ecs/client/ecs_client.go (`discoverPollEndpoint`: "Using cached DiscoverPollEndpoint"
//   at info, "Invoking DiscoverPollEndpoint" at debug, "Error calling DiscoverPollEndpoint. Using cached-but-expired
//   endpoint as a fallback."; fields from ecs-agent/logger/field/constants.go);
// - failed discoveries: ecs-agent/acs/session/session.go ("ACS: Unable to discover poll endpoint") and
//   ecs-agent/tcs/handler/handler.go ("tcs: unable to discover poll endpoint");
// - start: agent/app/agent.go ("Starting Amazon ECS Agent" version= commit=; before 1.68.1
//   "Amazon ECS agent Version: X, Commit: Y").

/// One `key=value` pair of a logfmt line, the value unquoted.
public struct LogfmtField: Sendable, Hashable {
    public var key: String
    public var value: String
    /// False when the value was quoted with escapes: its text is not verbatim in the line.
    public var isVerbatim: Bool
}

/// A parsed logfmt line, as the agent writes them (`level=info time=… msg="…" key="…"`).
public struct LogfmtLine: Sendable, Hashable {
    /// Longer lines are not parsed: no line of the agent comes near it, and a cap keeps a garbage file cheap.
    public static let maxLength = 64 * 1024

    public var fields: [LogfmtField]

    /// The first value of `key`.
    public subscript(key: String) -> String? { fields.first { $0.key == key }?.value }

    /// The line's fields, or nil when it is not logfmt: empty, too long, not UTF-8, control characters, an
    /// unterminated quote or a bad escape, or a first word that is not `key=value`.
    ///
    /// A bare word after a bare value is taken as part of that value, since Go's `%+v` of a time or a struct
    /// holds spaces (`lastConnectedTime=2026-12-07 03:00:58 +0000 UTC`).
    public init?(_ bytes: some Collection<UInt8>) {
        var line = Array(bytes)
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        guard !line.isEmpty, line.count <= Self.maxLength,
            !line.contains(where: { $0 < 0x20 && $0 != 0x09 || $0 == 0x7F }),
            String(validating: line, as: UTF8.self) != nil
        else { return nil }
        var fields: [LogfmtField] = []
        var i = 0
        var lastWasBare = false
        while i < line.count {
            while i < line.count, line[i] == 0x20 || line[i] == 0x09 { i += 1 }
            guard i < line.count else { break }
            let keyStart = i
            while i < line.count, line[i] != 0x20, line[i] != 0x09, line[i] != UInt8(ascii: "="),
                line[i] != UInt8(ascii: "\"")
            {
                i += 1
            }
            let key = line[keyStart..<i]
            if i < line.count, line[i] == UInt8(ascii: "="), !key.isEmpty {
                i += 1
                if i < line.count, line[i] == UInt8(ascii: "\"") {
                    guard let (value, verbatim, end) = Self.unquote(line, from: i) else { return nil }
                    fields.append(LogfmtField(key: String(decoding: key, as: UTF8.self), value: value, isVerbatim: verbatim))
                    i = end
                    lastWasBare = false
                } else {
                    let valueStart = i
                    while i < line.count, line[i] != 0x20, line[i] != 0x09 { i += 1 }
                    let value = String(decoding: line[valueStart..<i], as: UTF8.self)
                    fields.append(LogfmtField(key: String(decoding: key, as: UTF8.self), value: value, isVerbatim: true))
                    lastWasBare = true
                }
            } else {
                // A word without `=`: the rest of a bare value with spaces, else not logfmt.
                guard lastWasBare, let last = fields.indices.last else { return nil }
                while i < line.count, line[i] != 0x20, line[i] != 0x09 { i += 1 }
                fields[last].value += " " + String(decoding: line[keyStart..<i], as: UTF8.self)
            }
        }
        guard !fields.isEmpty else { return nil }
        self.fields = fields
    }

    /// A Go quoted string (`strconv.Quote`) starting at `start`: its value, whether it had no escapes, and the
    /// index after the closing quote.
    private static func unquote(_ line: [UInt8], from start: Int) -> (String, Bool, Int)? {
        var i = start + 1
        var out: [UInt8] = []
        var verbatim = true
        func hex(_ count: Int) -> UInt32? {
            guard i + count <= line.count else { return nil }
            var value: UInt32 = 0
            for byte in line[i..<(i + count)] {
                guard let digit = hexDigit(byte) else { return nil }
                value = value << 4 | digit
            }
            i += count
            return value
        }
        while i < line.count {
            let byte = line[i]
            i += 1
            if byte == UInt8(ascii: "\"") {
                // A value ends at a space or the line's end: `a="b"c` is not logfmt.
                guard i == line.count || line[i] == 0x20 || line[i] == 0x09 else { return nil }
                return (String(decoding: out, as: UTF8.self), verbatim, i)
            }
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                continue
            }
            verbatim = false
            guard i < line.count else { return nil }
            let escape = line[i]
            i += 1
            switch escape {
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"): out.append(escape)
            case UInt8(ascii: "x"):
                guard let value = hex(2) else { return nil }
                out.append(UInt8(value))
            case UInt8(ascii: "u"), UInt8(ascii: "U"):
                guard let value = hex(escape == UInt8(ascii: "u") ? 4 : 8), let scalar = Unicode.Scalar(value) else {
                    return nil
                }
                out += Array(String(Character(scalar)).utf8)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                guard i + 2 <= line.count else { return nil }
                var value = UInt32(escape - 48)
                for byte in line[i..<(i + 2)] {
                    guard (48...55).contains(byte) else { return nil }
                    value = value * 8 + UInt32(byte - 48)
                }
                guard value <= 255 else { return nil }
                i += 2
                out.append(UInt8(value))
            default: return nil
            }
        }
        return nil
    }

    private static func hexDigit(_ byte: UInt8) -> UInt32? {
        switch byte {
        case 48...57: UInt32(byte - 48)
        case 65...70: UInt32(byte - 55)
        case 97...102: UInt32(byte - 87)
        default: nil
        }
    }
}

/// The services whose cell hosts the agent's log names.
public enum AgentCellService: String, Sendable, Codable, Hashable, CaseIterable, Comparable {
    /// ACS, the agent's control websocket (`ecs-a-N.REGION.SUFFIX`).
    case ecsAgent = "ecs-agent"
    /// TCS, the telemetry websocket (`ecs-t-N.REGION.SUFFIX`).
    case ecsTelemetry = "ecs-telemetry"
    /// Service Connect's management host (`ecs-sc-N…`), known only from the discovery's answer.
    case serviceConnect = "service-connect"

    /// The endpoint service this cell is reached through once endpoints exist (Service Connect moves to
    /// ecs-agent's).
    public var endpointService: ECSService {
        switch self {
        case .ecsAgent, .serviceConnect: .ecsAgent
        case .ecsTelemetry: .ecsTelemetry
        }
    }

    public static func < (lhs: AgentCellService, rhs: AgentCellService) -> Bool {
        allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
    }
}

/// The latest host of one service the agent's log names, and what the log says of its connection.
public struct AgentCellHost: Sendable, Codable, Hashable {
    public var service: AgentCellService
    /// As written in the log (no port, no brackets).
    public var host: String
    /// The time of the last line naming this host.
    public var lastSeen: Date?
    /// When the agent last established its websocket to this host (`ConnectTime`).
    public var connectedAt: Date?
    /// `ExpectedDisconnectTime` as logged: the connect time plus 30 min, without the jitter.
    public var expectedDisconnect: Date?
    /// When the agent will close this websocket and redial: connect time plus `maxConnectionDuration`
    /// (30 min plus up to 5 min of jitter), else `expectedDisconnect`.
    public var plannedRedial: Date?

    public init(service: AgentCellService, host: String, lastSeen: Date?) {
        self.service = service
        self.host = host
        self.lastSeen = lastSeen
    }
}

/// What the agent's log says so far, fed its lines in order: the cell hosts per service, the last fresh
/// discovery and start, and how much of the log could not be read. Small and bounded whatever the log's size.
public struct AgentLogSummary: Sendable, Codable, Hashable {
    /// At most one per service, the latest, ordered by service.
    public private(set) var cells: [AgentCellHost] = []
    /// The last "Invoking DiscoverPollEndpoint" that did not fail: from then the agent's cache holds its answer
    /// for 12 h. The agent logs it at debug level only, so nil under the default `ECS_LOGLEVEL=info`.
    public var lastFreshDiscovery: Date? { pendingDiscovery ?? confirmedDiscovery }
    /// The last fresh discovery whose answer the log has shown since (a later line of the agent's): until then the
    /// cells the log names are still the previous answer's.
    public var lastAnsweredDiscovery: Date? { confirmedDiscovery }
    /// The last start of the agent in the log (its discovery cache is in memory, so a start empties it).
    public private(set) var lastAgentStart: Date?
    /// The version the last start line gives.
    public private(set) var agentVersion: String?
    /// The latest `time=` of any line.
    public private(set) var lastLineTime: Date?
    public private(set) var linesRead = 0
    public private(set) var linesNotParsed = 0
    /// The number, as given by the caller, of the first line that was not logfmt.
    public private(set) var firstUnparsedLine: Int?

    private var confirmedDiscovery: Date?
    /// An "Invoking DiscoverPollEndpoint" whose outcome is not logged yet.
    private var pendingDiscovery: Date?

    public init() {}

    /// The latest host of `service`, if the log named one.
    public func cell(_ service: AgentCellService) -> AgentCellHost? {
        cells.first { $0.service == service }
    }

    /// Reads one line (without its newline).
    public mutating func add(line: some Collection<UInt8>, number: Int) {
        guard let parsed = LogfmtLine(line) else {
            addUnparsable(number: number)
            return
        }
        linesRead += 1
        add(parsed)
    }

    /// Counts a line that was not even handed over (e.g. longer than the reader's cap).
    public mutating func addUnparsable(number: Int) {
        linesRead += 1
        linesNotParsed += 1
        if firstUnparsedLine == nil { firstUnparsedLine = number }
    }

    private mutating func add(_ line: LogfmtLine) {
        let time = line["time"].flatMap(TimeText.rfc3339)
        if let time, time > lastLineTime ?? .distantPast { lastLineTime = time }
        let message = line["msg"] ?? ""

        switch message {
        case "Starting Amazon ECS Agent":
            started(at: time, version: line["version"])
        case _ where message.hasPrefix("Amazon ECS agent Version: "):
            let rest = message.dropFirst("Amazon ECS agent Version: ".count)
            started(at: time, version: rest.split(separator: ",").first.map(String.init))
        case "Invoking DiscoverPollEndpoint":
            // Calls are serialised (pollEndpointLock): a new one means the one before returned.
            if let pendingDiscovery { confirmedDiscovery = pendingDiscovery }
            pendingDiscovery = time
        case "Using cached DiscoverPollEndpoint", "Establishing a Websocket connection":
            if let pendingDiscovery { confirmedDiscovery = pendingDiscovery }
            pendingDiscovery = nil
        case _ where message.hasPrefix("Error calling DiscoverPollEndpoint")
            || message.lowercased().contains("unable to discover poll endpoint"):
            pendingDiscovery = nil
        default:
            break
        }

        for field in line.fields where field.isVerbatim && !field.value.isEmpty {
            let service: AgentCellService?
            let host: String?
            switch field.key {
            case "endpoint":
                (service, host) = (.ecsAgent, Self.host(ofURL: field.value)?.host)
            case "telemetryEndpoint":
                (service, host) = (.ecsTelemetry, Self.host(ofURL: field.value)?.host)
            case "serviceConnectEndpoint":
                (service, host) = (.serviceConnect, Self.host(ofURL: field.value)?.host)
            case "url", "URL":
                guard let parts = Self.host(ofURL: field.value) else { continue }
                (service, host) = (Self.websocketService(host: parts.host, rest: parts.rest), parts.host)
            default:
                continue
            }
            guard let service, let host else { continue }
            seen(service, host, at: time)
            if message == "Websocket connection established.", field.key == "URL" {
                connected(service, line: line, lineTime: time)
            }
        }
    }

    private mutating func started(at time: Date?, version: String?) {
        if let time { lastAgentStart = time }
        if let version, !version.isEmpty { agentVersion = version }
        pendingDiscovery = nil
        // The old process's timers died with it.
        for index in cells.indices {
            cells[index].expectedDisconnect = nil
            cells[index].plannedRedial = nil
        }
    }

    private mutating func seen(_ service: AgentCellService, _ host: String, at time: Date?) {
        if let index = cells.firstIndex(where: { $0.service == service }) {
            if cells[index].host == host {
                if let time { cells[index].lastSeen = time }
                return
            }
            cells[index] = AgentCellHost(service: service, host: host, lastSeen: time)
        } else {
            cells.append(AgentCellHost(service: service, host: host, lastSeen: time))
            cells.sort { $0.service < $1.service }
        }
    }

    private mutating func connected(_ service: AgentCellService, line: LogfmtLine, lineTime: Date?) {
        guard let index = cells.firstIndex(where: { $0.service == service }) else { return }
        let connect = line["ConnectTime"].flatMap(TimeText.dateTime) ?? lineTime
        let expected = line["ExpectedDisconnectTime"].flatMap(TimeText.dateTime)
        let duration = line["maxConnectionDuration"].flatMap(TimeText.goDuration)
        cells[index].connectedAt = connect
        cells[index].expectedDisconnect = expected
        if let connect, let duration {
            cells[index].plannedRedial = connect.addingTimeInterval(duration)
        } else {
            cells[index].plannedRedial = expected
        }
    }

    /// ACS or TCS for a websocket URL. By the host's first label (`ecs-a-N`, `ecs-t-N`); failing that (a test
    /// backend, a renamed cell), by the query each builds: ACS's has `sendCredentials` and `seqNum`
    /// (ecs-agent/acs/session/session.go, `acsURL`), TCS's `containerInstance` (ecs-agent/tcs/handler/handler.go,
    /// `formatURL`). A URL that matches neither is not one of the agent's websockets and is ignored.
    static func websocketService(host: String, rest: Substring) -> AgentCellService? {
        let label = host.prefix { $0 != "." }.lowercased()
        if label == "ecs-a" || label.hasPrefix("ecs-a-") { return .ecsAgent }
        if label == "ecs-t" || label.hasPrefix("ecs-t-") { return .ecsTelemetry }
        guard let question = rest.firstIndex(of: "?"), rest[..<question].hasSuffix("/ws") else { return nil }
        let keys = Set(rest[rest.index(after: question)...].split(separator: "&").map { $0.prefix { $0 != "=" } })
        if keys.contains("sendCredentials") || keys.contains("seqNum") { return .ecsAgent }
        if keys.contains("containerInstance") { return .ecsTelemetry }
        return nil
    }

    /// The host of `scheme://[user@]host[:port][/path…]` and what follows the authority; nil for anything else.
    /// Only DNS names and IP addresses are hosts: a host is a substring of the URL.
    static func host(ofURL url: String) -> (host: String, rest: Substring)? {
        guard let schemeEnd = url.firstRange(of: "://"), !url[..<schemeEnd.lowerBound].isEmpty,
            url[..<schemeEnd.lowerBound].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) })
        else { return nil }
        let afterScheme = url[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex { "/?#".contains($0) } ?? afterScheme.endIndex
        var authority = afterScheme[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var host: Substring
        if authority.first == "[" {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
        } else {
            host = authority.prefix { $0 != ":" }
            guard !host.isEmpty, host.count <= 253,
                host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") })
            else { return nil }
        }
        return (String(host), afterScheme[authorityEnd...])
    }
}

/// The time formats of the agent's log and the Docker Engine, read without a calendar or time zone.
public enum TimeText {
    /// RFC 3339: the agent's `time=` (`2026-12-07T03:00:58Z`), Docker's `StartedAt`
    /// (`2024-05-01T10:20:30.123456789Z`); with or without fractional seconds (up to nanoseconds), `Z` or an offset.
    public static func rfc3339(_ text: String) -> Date? {
        let b = Array(text.utf8)
        guard b.count >= 20, b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
            let base = civil(b)
        else { return nil }
        var i = 19
        var fraction = 0.0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            let start = i
            while i < b.count, (48...57).contains(b[i]) {
                fraction += Double(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > start, i - start <= 9 else { return nil }
        }
        guard i < b.count else { return nil }
        var offset = 0
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            guard i + 1 == b.count else { return nil }
        } else {
            guard b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), i + 6 == b.count, b[i + 3] == UInt8(ascii: ":"),
                let hours = number(b, (i + 1)..<(i + 3)), let minutes = number(b, (i + 4)..<(i + 6)),
                hours < 24, minutes < 60
            else { return nil }
            offset = (hours * 3600 + minutes * 60) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
        }
        return Date(timeIntervalSince1970: Double(base - offset) + fraction)
    }

    /// `ConnectTime`, `ExpectedDisconnectTime`: Go's "2006-01-02 15:04:05" of the agent's local time, which is
    /// UTC in its container (ecs-init mounts no /etc/localtime and sets no TZ; the image has no zone data).
    static func dateTime(_ text: String) -> Date? {
        let b = Array(text.utf8)
        guard b.count == 19, b[10] == 0x20, let seconds = civil(b) else { return nil }
        return Date(timeIntervalSince1970: Double(seconds))
    }

    /// `maxConnectionDuration`: a Go duration (`31m30.167691084s`, `1h2m`, `500ms`).
    static func goDuration(_ text: String) -> TimeInterval? {
        var rest = Substring(text)
        guard !rest.isEmpty, rest.count <= 64 else { return nil }
        var total = 0.0
        while !rest.isEmpty {
            let numberText = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !numberText.isEmpty, let value = Double(numberText) else { return nil }
            rest = rest.dropFirst(numberText.count)
            let unit = rest.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "h": scale = 3600
            case "m": scale = 60
            case "s": scale = 1
            case "ms": scale = 1e-3
            case "us", "µs", "μs": scale = 1e-6
            case "ns": scale = 1e-9
            default: return nil
            }
            total += value * scale
        }
        return total
    }

    /// Seconds since 1970 of `YYYY-MM-DD?hh:mm:ss` at the start of `b`, as UTC.
    private static func civil(_ b: [UInt8]) -> Int? {
        guard b.count >= 19, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[13] == UInt8(ascii: ":"),
            b[16] == UInt8(ascii: ":"),
            let year = number(b, 0..<4), let month = number(b, 5..<7), let day = number(b, 8..<10),
            let hour = number(b, 11..<13), let minute = number(b, 14..<16), let second = number(b, 17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        // Days from the civil date (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146097 + dayOfEra - 719468
        return days * 86400 + hour * 3600 + minute * 60 + second
    }

    private static func number(_ b: [UInt8], _ range: Range<Int>) -> Int? {
        guard range.upperBound <= b.count else { return nil }
        var value = 0
        for i in range {
            guard (48...57).contains(b[i]) else { return nil }
            value = value * 10 + Int(b[i] - 48)
        }
        return value
    }
}
