// Our own configuration file (Sources/ECSVPCCore/Configuration/SettingsParser.swift).
// Input: the text of /etc/ecsvpcd/ecsvpcd.conf. Checks: an error names the file and a line that exists; a comment line
// put in front moves that line by one and changes neither the settings nor the kind of error; a leading byte order
// mark changes nothing.
import ECSVPCCore

func fuzzSettings(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    let path = "/etc/ecsvpcd/ecsvpcd.conf"
    let lineCount = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).count
    let result = Result { () throws(ConfigurationError) -> Settings in try SettingsParser.parse(file: (path, text), environment: [:]) }
    if case .failure(let error) = result {
        precondition(error.source == path, "an error that does not name the file: \(error)")
        precondition(!error.detail.isEmpty, "an error that says nothing")
        if let line = error.line { precondition((1...lineCount).contains(line), "error on line \(line) of \(lineCount)") }
    }
    let shifted = Result { () throws(ConfigurationError) -> Settings in
        try SettingsParser.parse(file: (path, "# a comment\n" + text), environment: [:])
    }
    switch (result, shifted) {
    case (.success(let a), .success(let b)):
        precondition(a == b, "a comment line changed the settings")
    case (.failure(let a), .failure(let b)):
        // (The detail may name another line, which moves too.)
        precondition(a.code == b.code && a.key == b.key, "a comment line changed the error: \(a) / \(b)")
        precondition(a.line.map { $0 + 1 } == b.line, "a comment line did not move the error by one line: \(a) / \(b)")
    default:
        preconditionFailure("a comment line changed whether the file parses: \(result) / \(shifted)")
    }
    if text.first != "\u{FEFF}" {
        let marked = Result { () throws(ConfigurationError) -> Settings in
            try SettingsParser.parse(file: (path, "\u{FEFF}" + text), environment: [:])
        }
        switch (result, marked) {
        case (.success(let a), .success(let b)): precondition(a == b, "a byte order mark changed the settings")
        case (.failure(let a), .failure(let b)): precondition(a == b, "a byte order mark changed the error: \(a) / \(b)")
        default: preconditionFailure("a byte order mark changed whether the file parses: \(result) / \(marked)")
        }
    }
}
