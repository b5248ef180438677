// libFuzzer harness for the reader of cut-off JSON (Sources/ECSVPCCore/Fleet/PartialJSON.swift) that
// `ecsvpcd rollout-report` applies to Run Command's output. Input: any bytes, read whole and cut at a few points.
// Checks: no crash, and a cut changes only the tail: every member (or element) the cut text gives, but the last,
// is the same as in the whole text's value.

@testable import ECSVPCCore

func fuzzPartialJSON(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    let whole = PartialJSON.read(Substring(text))
    _ = PartialJSON.problem(in: Array(text.utf8))
    let characters = Array(text)
    for cut in Set([characters.count / 2, characters.count * 3 / 4, max(0, characters.count - 1)]) {
        let part = PartialJSON.read(Substring(String(characters[..<cut])))
        guard let whole, let part else { continue }
        switch (whole.value, part.value) {
        case (.object(let full), .object(let cutMembers)):
            precondition(cutMembers.count <= full.count || whole.cutOff, "a cut gave more members")
            precondition(Array(cutMembers.dropLast()) == Array(full.prefix(max(0, cutMembers.count - 1))), "a cut changed a member")
        case (.array(let full), .array(let cutElements)):
            precondition(Array(cutElements.dropLast()) == Array(full.prefix(max(0, cutElements.count - 1))), "a cut changed an element")
        default:
            break
        }
    }
}
