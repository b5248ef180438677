// libFuzzer harness for the DNS response parser (Sources/ECSVPCD/DNS/DNSMessage.swift).
import ECSVPCCore

func fuzzDNSResponse(_ bytes: [UInt8]) {
    _ = DNSMessage.peekID(bytes)
    _ = DNSMessage.peekTruncated(bytes)
    guard let message = try? DNSMessage(decoding: bytes) else { return }
    for question in message.questions {
        let (chain, records) = message.addresses(for: question.name, type: question.type)
        precondition(chain.count <= 16, "CNAME walk did not stop")
        _ = records.count
        _ = question.name.description
    }
    for record in message.answers + message.authorities + message.additionals {
        _ = record.name.description
        precondition(record.name.labels.reduce(1) { $0 + 1 + $1.count } <= DNSName.maxWireLength)
    }
    // Whatever decodes must encode, and (with no opaque record data, which may hold compression pointers
    // that no longer point anywhere) decode back to the same message.
    guard let encoded = try? message.encode() else {
        preconditionFailure("a decoded message does not encode")
    }
    let opaque = (message.answers + message.authorities + message.additionals).contains {
        if case .other = $0.data { return true }
        return false
    }
    if !opaque {
        guard let again = try? DNSMessage(decoding: encoded) else {
            preconditionFailure("a re-encoded message does not decode")
        }
        precondition(again == message, "round trip changed the message")
    }
}
