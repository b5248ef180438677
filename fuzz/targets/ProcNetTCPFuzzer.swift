// /proc/PID/net/tcp and tcp6 (TCPTableEntry in Sources/ECSVPCD/Agent/AgentConnectionsReader.swift), and the
// parent pid of /proc/PID/stat. Input: a table's text. Checks: every entry, printed back the way the kernel prints
// it, reads back the same (a round trip); no more entries than lines; the parent pid comes from after the last ")".
import ECSVPCCore

func fuzzProcNetTCP(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    let entries = TCPTableEntry.parse(text)
    precondition(entries.count <= text.split(separator: "\n").count, "more entries than lines")
    for entry in entries {
        let line = "  0: \(kernelHex(entry.local)):\(hex16(entry.localPort)) \(kernelHex(entry.remote)):\(hex16(entry.remotePort)) "
            + "\(hex8(entry.state?.rawValue ?? 0x0C)) 00000000:00000000 00:00000000 00000000     0        0 \(entry.inode) 1"
        let again = TCPTableEntry.parse(line)
        precondition(again.count == 1, "a printed entry does not read back: \(line)")
        precondition(again[0] == entry, "round trip changed \(entry) into \(again[0])")
        precondition((0...0xFFFF).contains(entry.localPort) && (0...0xFFFF).contains(entry.remotePort), "a port out of range: \(entry)")
    }
    // The stat line of a process whose name holds anything: the parent is the field after the state.
    if let parent = AgentConnectionsReader.parentPid(stat: "42 (\(text)) S 4242 42 42 0 -1") {
        precondition(parent == 4242, "the parent pid of a stat line whose name holds \")\" is \(parent)")
    } else {
        preconditionFailure("no parent pid in a well-formed stat line")
    }
}

/// The kernel's hex of an address: each 32-bit word in host order (little-endian here).
private func kernelHex(_ address: IPAddress) -> String {
    let bytes: [UInt8]
    switch address {
    case .v4(let value): bytes = withUnsafeBytes(of: value.bigEndian, Array.init)
    case .v6(let high, let low): bytes = withUnsafeBytes(of: high.bigEndian, Array.init) + withUnsafeBytes(of: low.bigEndian, Array.init)
    }
    return stride(from: 0, to: bytes.count, by: 4).map { word in
        bytes[word..<(word + 4)].reversed().map { hex8($0) }.joined()
    }.joined()
}

private func hex8(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
}

private func hex16(_ port: Int) -> String {
    let text = String(port, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, 4 - text.count)) + text
}
