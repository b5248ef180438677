// libFuzzer harness for the agent log's logfmt parser and summary (Sources/ECSVPCCore/Agent/AgentLog.swift).
// Input: bytes split at newlines, fed as log lines in order. Checks: no crash, every line counted once, and
// every host reported is verbatim in the input.
@testable import ECSVPCCore

func fuzzAgentLog(_ bytes: [UInt8]) {
    let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
    var summary = AgentLogSummary()
    for (index, line) in lines.enumerated() {
        if let parsed = LogfmtLine(line) {
            precondition(!parsed.fields.isEmpty, "a parsed line without fields")
            precondition(line.count <= LogfmtLine.maxLength, "a line over the cap parsed")
        }
        summary.add(line: line, number: index + 1)
    }
    precondition(summary.linesRead == lines.count, "lines read \(summary.linesRead) != lines fed \(lines.count)")
    precondition(summary.linesNotParsed <= summary.linesRead)
    precondition((summary.linesNotParsed == 0) == (summary.firstUnparsedLine == nil))
    precondition(summary.cells.count <= AgentCellService.allCases.count, "more than one cell per service")
    for cell in summary.cells {
        let host = Array(cell.host.utf8)
        precondition(!host.isEmpty, "an empty host")
        let found = bytes.count >= host.count && (0...(bytes.count - host.count)).contains { start in
            bytes[start..<(start + host.count)].elementsEqual(host)
        }
        precondition(found, "host \(cell.host) is not in the input")
    }
}
