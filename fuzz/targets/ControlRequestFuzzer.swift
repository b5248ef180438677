// Control socket requests and replies (Sources/ECSVPCD/Control/ControlProtocol.swift). Input: one line.
// Checks: a request that parses is written back (`line()`) as one line that parses to the same request; a refusal
// is bad-request or unknown-command with a short message; a reply that parses writes back and reads the same.
import ECSVPCCore
import FoundationEssentials

func fuzzControlRequest(_ bytes: [UInt8]) {
    switch ControlRequest.parse(bytes) {
    case .success(let request):
        let line = Array(request.line())
        precondition(line.last == UInt8(ascii: "\n") && line.dropLast().allSatisfy({ $0 != UInt8(ascii: "\n") }), "not one line")
        precondition(line.count <= ControlRequest.maxLineBytes || bytes.count > ControlRequest.maxLineBytes,
                     "a request that fits written back longer than the limit")
        guard case .success(let again) = ControlRequest.parse(line.dropLast()) else { preconditionFailure("\(request) does not read back") }
        precondition(again == request, "round trip changed \(request) into \(again)")
    case .failure(let failure):
        precondition([.badRequest, .unknownCommand].contains(failure.code), "a parse refusal with code \(failure.code)")
        precondition(failure.message.count < 300, "a refusal message of \(failure.message.count) characters")
    }
    if let reply = try? ControlReply.parse(Data(bytes)) {
        let line = reply.line()
        guard let again = try? ControlReply.parse(line) else { preconditionFailure("reply \(reply) does not read back") }
        precondition(again.line() == line, "a reply's round trip is not stable")
    }
}
