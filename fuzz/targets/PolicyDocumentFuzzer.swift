// libFuzzer harness for the endpoint policy reader and evaluator (Sources/ECSVPCCore/Policy/: PolicyJSON.swift,
// EndpointPolicy.swift, PolicyEvaluation.swift). Input: the bytes of a policy file. Checks: no crash; an error's
// offset lies within the input; a tree the JSON reader accepts, written out again, reads back the same; an accepted
// policy is within the 20,480-character limit and the check gives one result per call, the worst as the verdict.
@testable import ECSVPCCore

func fuzzEndpointPolicy(_ bytes: [UInt8]) {
    do {
        let tree = try PolicyJSONParser.parse(bytes)
        let again = try PolicyJSONParser.parse(Array(write(tree).utf8))
        precondition(same(tree, again), "the tree written out reads back different")
    } catch {
        precondition(error.offset >= 0 && error.offset <= bytes.count, "an error offset outside the input")
    }
    do {
        let policy = try EndpointPolicy.parse(bytes)
        precondition(policy.characters <= EndpointPolicy.maxCharacters, "a policy over the limit accepted")
        precondition(!policy.statements.isEmpty, "a policy without statements accepted")
        for statement in policy.statements {
            precondition(!statement.actions.isEmpty && !statement.resources.isEmpty, "a statement without actions or resources")
        }
        let check = PolicyCheck(policy: policy, context: AgentCallContext(partition: "aws", region: nil, account: "1", cluster: "c"))
        precondition(check.calls.count == AgentCall.all.count, "not one result per call")
        precondition(check.calls.allSatisfy { $0.result <= check.result }, "a call worse than the verdict")
    } catch {
        if let position = error.position {
            precondition(position.line >= 1 && position.column >= 1, "a position before the start")
        }
    }
}

/// Positions differ between the two texts; values and key order must not.
private func same(_ a: PolicyJSONNode, _ b: PolicyJSONNode) -> Bool {
    switch (a.value, b.value) {
    case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
    case (.object(let x), .object(let y)):
        return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && same($0.value, $1.value) }
    default: return a.value == b.value
    }
}

private func write(_ node: PolicyJSONNode) -> String {
    switch node.value {
    case .string(let text): return quote(text)
    case .number(let text): return text
    case .bool(let value): return value ? "true" : "false"
    case .null: return "null"
    case .array(let elements): return "[" + elements.map(write).joined(separator: ",") + "]"
    case .object(let members): return "{" + members.map { quote($0.key) + ":" + write($0.value) }.joined(separator: ",") + "}"
    }
}

private func quote(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case let c where c.value < 0x20:
            let hex = String(c.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
