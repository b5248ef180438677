/// A VPC endpoint policy (IAM policy language), read strictly: an element IAM does not know is an error with its
/// place, not something silently ignored, because a misspelt `NotAction` changes what the policy allows.
public struct EndpointPolicy: Sendable, Equatable {
    /// The limit of the PrivateLink guide ("Control access to VPC endpoints using endpoint policies"): 20,480
    /// characters, white space included.
    public static let maxCharacters = 20_480

    public enum Effect: String, Sendable, Equatable { case allow = "Allow", deny = "Deny" }

    /// Who a statement applies to, as far as it matters for the instance role of a container instance.
    public enum Principals: Sendable, Equatable {
        /// No `Principal`: the PrivateLink guide requires one, AWS's own ECS example omits it; read as `*`.
        case missing
        /// `"*"` or `{"AWS": "*"}`: everyone.
        case everyone
        /// Named principals (`{"AWS": [ARNs or accounts]}`, services…): whether the instance role is among them
        /// cannot be known from the policy alone.
        case named([String])
        /// `NotPrincipal`: everyone except the named ones, which may include the instance role.
        case everyoneExcept([String])
    }

    public struct Statement: Sendable, Equatable {
        /// `Sid`, else `Statement[N]`.
        public let label: String
        /// JSON path of the statement (`$.Statement[1]`).
        public let path: String
        public let effect: Effect
        public let principals: Principals
        /// `Action` patterns, or `NotAction` when `notAction`.
        public let actions: [String]
        public let notAction: Bool
        public let resources: [String]
        public let notResource: Bool
        /// The condition operators used (the keys of `Condition`); conditions are not evaluated.
        public let conditionOperators: [String]
    }

    public let version: String?
    public let statements: [Statement]
    /// Notes on a policy that is valid but unusual (a missing `Principal`, no `Version`).
    public let warnings: [String]
    /// Its length in characters (Unicode scalars).
    public let characters: Int
}

/// Why a policy could not be read; `code` chooses the exit status.
public struct EndpointPolicyError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case notJSON = "policy-not-json"
        case tooLong = "policy-too-long"
        case invalid = "policy-invalid"
    }

    public let code: Code
    public let message: String
    /// Where, as `line:column`.
    public let position: TextPosition?
    /// Where, as a JSON path (`$.Statement[0].Acton`), for errors in the policy's structure.
    public let path: String?
    public let hint: String

    public init(code: Code, message: String, position: TextPosition?, path: String?, hint: String) {
        self.code = code
        self.message = message
        self.position = position
        self.path = path
        self.hint = hint
    }

    public var description: String {
        var place: [String] = []
        if let position { place.append("line \(position.line), column \(position.column)") }
        if let path { place.append(path) }
        return (place.isEmpty ? "" : place.joined(separator: ", ") + ": ") + message
    }
}

extension EndpointPolicy {
    static let topLevelKeys = ["Version", "Id", "Statement"]
    static let statementKeys = [
        "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition",
    ]
    static let principalKeys = ["AWS", "Service", "Federated", "CanonicalUser"]
    static let versions = ["2012-10-17", "2008-10-17"]
    static let conditionOperators: Set<String> = [
        "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike",
        "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
        "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals", "DateNotEquals", "DateLessThan",
        "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress",
        "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null",
    ]

    /// IAM's condition operators, with the set prefixes and the `IfExists` suffix (not on `Null`).
    static func isConditionOperator(_ name: String) -> Bool {
        var name = Substring(name)
        for prefix in ["ForAllValues:", "ForAnyValue:"] where name.hasPrefix(prefix) {
            name = name.dropFirst(prefix.count)
        }
        if name.hasSuffix("IfExists") && name != "NullIfExists" { name = name.dropLast("IfExists".count) }
        return conditionOperators.contains(String(name))
    }

    /// Reads a policy from its text (UTF-8 bytes, as in the file).
    public static func parse(_ bytes: [UInt8]) throws(EndpointPolicyError) -> EndpointPolicy {
        var characters = 0
        for (offset, byte) in bytes.enumerated() where byte & 0xC0 != 0x80 {
            characters += 1
            if characters == maxCharacters + 1 {
                let total = bytes.reduce(0) { $1 & 0xC0 != 0x80 ? $0 + 1 : $0 }
                throw EndpointPolicyError(
                    code: .tooLong,
                    message: "the policy is \(total) characters long; an endpoint policy may have at most 20,480, white space included (character 20,481 is here)",
                    position: TextPosition(offset: offset, in: bytes), path: nil,
                    hint: "remove white space (aws ec2 modify-vpc-endpoint takes it compact) or merge statements"
                )
            }
        }
        let root: PolicyJSONNode
        do {
            root = try PolicyJSONParser.parse(bytes)
        } catch {
            throw EndpointPolicyError(
                code: .notJSON, message: "not JSON: \(error.message)",
                position: TextPosition(offset: error.offset, in: bytes), path: nil,
                hint: "an endpoint policy is one JSON object: {\"Statement\": [...]}"
            )
        }
        var reader = Reader(bytes: bytes)
        return try reader.policy(root, characters: characters)
    }

    /// Reads a policy from a string (the template's policies, tests).
    public static func parse(_ text: String) throws(EndpointPolicyError) -> EndpointPolicy {
        try parse(Array(text.utf8))
    }
}

/// Turns the JSON tree into the model, naming the JSON path and position of the first thing wrong.
private struct Reader {
    let bytes: [UInt8]
    var warnings: [String] = []

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    func fail(_ message: String, _ path: String, at offset: Int, hint: String) -> EndpointPolicyError {
        EndpointPolicyError(
            code: .invalid, message: message, position: TextPosition(offset: offset, in: bytes), path: path, hint: hint
        )
    }

    func members(_ node: PolicyJSONNode, _ path: String, what: String) throws(EndpointPolicyError) -> [PolicyJSONNode.Member] {
        guard case .object(let members) = node.value else {
            throw fail("\(what) must be an object, not \(node.kind)", path, at: node.offset, hint: "see the IAM JSON policy grammar")
        }
        return members
    }

    func checkKeys(_ members: [PolicyJSONNode.Member], allowed: [String], _ path: String, what: String)
        throws(EndpointPolicyError)
    {
        for member in members where !allowed.contains(member.key) {
            let sameLetters = allowed.first { $0.lowercased() == member.key.lowercased() }
            let nearMiss = allowed.first { editDistance($0.lowercased(), member.key.lowercased()) <= 2 }
            let hint =
                sameLetters.map { "element names are case-sensitive: did you mean \($0)?" }
                ?? nearMiss.map { "did you mean \($0)? (\(what) may have: \(allowed.joined(separator: ", ")))" }
                ?? "\(what) may have: \(allowed.joined(separator: ", "))"
            throw fail("unknown element \"\(member.key)\" in \(what)", "\(path).\(member.key)", at: member.keyOffset, hint: hint)
        }
    }

    /// Levenshtein distance, for "did you mean" on short element names.
    func editDistance(_ first: String, _ second: String) -> Int {
        let a = Array(first)
        let b = Array(second)
        guard !a.isEmpty else { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    func string(_ node: PolicyJSONNode, _ path: String, what: String) throws(EndpointPolicyError) -> String {
        guard case .string(let text) = node.value else {
            throw fail("\(what) must be a string, not \(node.kind)", path, at: node.offset, hint: "put it in double quotes")
        }
        return text
    }

    /// A string or a non-empty array of strings (Action, Resource, principal lists).
    func strings(_ node: PolicyJSONNode, _ path: String, what: String) throws(EndpointPolicyError) -> [String] {
        try located(node, path, what: what).map(\.text)
    }

    /// The same, each value with its place.
    func located(_ node: PolicyJSONNode, _ path: String, what: String) throws(EndpointPolicyError)
        -> [(text: String, path: String, offset: Int)]
    {
        switch node.value {
        case .string(let text):
            return [(text, path, node.offset)]
        case .array(let elements):
            guard !elements.isEmpty else {
                throw fail("\(what) is an empty array", path, at: node.offset, hint: "list at least one value, or \"*\"")
            }
            var values: [(text: String, path: String, offset: Int)] = []
            for (index, element) in elements.enumerated() {
                let elementPath = "\(path)[\(index)]"
                values.append((try string(element, elementPath, what: "each value of \(what)"), elementPath, element.offset))
            }
            return values
        default:
            throw fail(
                "\(what) must be a string or an array of strings, not \(node.kind)", path, at: node.offset,
                hint: "e.g. \"ecs:*\" or [\"ecs:Poll\", \"ecs:StartTelemetrySession\"]"
            )
        }
    }

    mutating func policy(_ root: PolicyJSONNode, characters: Int) throws(EndpointPolicyError) -> EndpointPolicy {
        let top = try members(root, "$", what: "the policy")
        try checkKeys(top, allowed: EndpointPolicy.topLevelKeys, "$", what: "the policy")
        var version: String?
        if let node = top.first(where: { $0.key == "Version" }) {
            let text = try string(node.value, "$.Version", what: "Version")
            guard EndpointPolicy.versions.contains(text) else {
                throw fail("Version \"\(text)\" is not a policy language version", "$.Version", at: node.value.offset, hint: "use \"2012-10-17\"")
            }
            version = text
        }
        if let node = top.first(where: { $0.key == "Id" }) { _ = try string(node.value, "$.Id", what: "Id") }
        guard let statementNode = top.first(where: { $0.key == "Statement" })?.value else {
            throw fail("the policy has no Statement", "$", at: root.offset, hint: "add \"Statement\": [{\"Effect\": \"Allow\", ...}]")
        }
        var statements: [EndpointPolicy.Statement] = []
        switch statementNode.value {
        case .object:
            statements.append(try statement(statementNode, "$.Statement", index: 0))
        case .array(let elements):
            guard !elements.isEmpty else {
                throw fail("Statement is an empty array", "$.Statement", at: statementNode.offset, hint: "add at least one statement")
            }
            for (index, element) in elements.enumerated() {
                statements.append(try statement(element, "$.Statement[\(index)]", index: index))
            }
        default:
            throw fail(
                "Statement must be an object or an array of objects, not \(statementNode.kind)", "$.Statement",
                at: statementNode.offset, hint: "see the IAM JSON policy grammar"
            )
        }
        var seenSids: [String: String] = [:]
        for statement in statements where !statement.label.hasPrefix("Statement[") {
            if let first = seenSids[statement.label] {
                warnings.append("Sid \"\(statement.label)\" is used by \(first) and \(statement.path): IAM wants each Sid unique")
            }
            seenSids[statement.label] = statement.path
        }
        return EndpointPolicy(version: version, statements: statements, warnings: warnings, characters: characters)
    }

    mutating func statement(_ node: PolicyJSONNode, _ path: String, index: Int) throws(EndpointPolicyError)
        -> EndpointPolicy.Statement
    {
        let fields = try members(node, path, what: "a statement")
        try checkKeys(fields, allowed: EndpointPolicy.statementKeys, path, what: "a statement")
        func field(_ key: String) -> PolicyJSONNode? { fields.first { $0.key == key }?.value }

        var label = "Statement[\(index)]"
        if let sid = field("Sid") {
            let text = try string(sid, "\(path).Sid", what: "Sid")
            if !text.isEmpty { label = text }
        }

        guard let effectNode = field("Effect") else {
            throw fail("the statement has no Effect", path, at: node.offset, hint: "add \"Effect\": \"Allow\" or \"Deny\"")
        }
        let effectText = try string(effectNode, "\(path).Effect", what: "Effect")
        guard let effect = EndpointPolicy.Effect(rawValue: effectText) else {
            throw fail("Effect \"\(effectText)\" is neither Allow nor Deny", "\(path).Effect", at: effectNode.offset, hint: "write \"Allow\" or \"Deny\" (case-sensitive)")
        }

        let (actionKey, actions) = try exactlyOne("Action", "NotAction", fields: fields, node: node, path)
        for action in actions where !isActionPattern(action.text) {
            throw fail(
                "\"\(action.text)\" is not an action", action.path, at: action.offset,
                hint: "an action is service:Name, e.g. ecs:Poll, ecs:Submit*, or \"*\""
            )
        }
        let (resourceKey, resources) = try exactlyOne("Resource", "NotResource", fields: fields, node: node, path)

        let principals: EndpointPolicy.Principals
        switch (field("Principal"), field("NotPrincipal")) {
        case (.some, .some):
            throw fail("the statement has both Principal and NotPrincipal", path, at: node.offset, hint: "keep one of them")
        case (nil, nil):
            principals = .missing
            warnings.append(
                "\(label) (\(path)) has no Principal: the PrivateLink guide requires one (AWS's ECS example omits it); read as \"*\""
            )
        case (.some(let principal), nil):
            principals = try self.principals(principal, "\(path).Principal")
        case (nil, .some(let notPrincipal)):
            let named = try self.principals(notPrincipal, "\(path).NotPrincipal")
            switch named {
            case .named(let values): principals = .everyoneExcept(values)
            default: principals = .everyoneExcept(["*"])
            }
        }

        var operators: [String] = []
        if let condition = field("Condition") {
            let blocks = try members(condition, "\(path).Condition", what: "Condition")
            for block in blocks {
                guard EndpointPolicy.isConditionOperator(block.key) else {
                    throw fail(
                        "unknown condition operator \"\(block.key)\"", "\(path).Condition.\(block.key)", at: block.keyOffset,
                        hint: "e.g. StringEquals, StringLike, ArnLike, IpAddress, Bool, Null; optionally ForAnyValue:/ForAllValues: and …IfExists"
                    )
                }
                let keys = try members(block.value, "\(path).Condition.\(block.key)", what: "a condition operator's block")
                for key in keys {
                    switch key.value.value {
                    case .string, .bool, .number: break
                    case .array(let values) where values.allSatisfy({
                        switch $0.value {
                        case .string, .bool, .number: true
                        default: false
                        }
                    }): break
                    default:
                        throw fail(
                            "condition values must be strings, numbers, booleans or arrays of them, not \(key.value.kind)",
                            "\(path).Condition.\(block.key).\(key.key)", at: key.value.offset, hint: "see the IAM condition grammar"
                        )
                    }
                }
                operators.append(block.key)
            }
        }
        return EndpointPolicy.Statement(
            label: label, path: path, effect: effect, principals: principals,
            actions: actions.map(\.text), notAction: actionKey == "NotAction",
            resources: resources.map(\.text), notResource: resourceKey == "NotResource",
            conditionOperators: operators
        )
    }

    func exactlyOne(_ key: String, _ notKey: String, fields: [PolicyJSONNode.Member], node: PolicyJSONNode, _ path: String)
        throws(EndpointPolicyError) -> (String, [(text: String, path: String, offset: Int)])
    {
        let plain = fields.first { $0.key == key }
        let negated = fields.first { $0.key == notKey }
        switch (plain, negated) {
        case (.some, .some):
            throw fail("the statement has both \(key) and \(notKey)", path, at: node.offset, hint: "keep one of them")
        case (nil, nil):
            throw fail("the statement has neither \(key) nor \(notKey)", path, at: node.offset, hint: "add \"\(key)\": \"*\" or a list")
        case (.some(let member), nil):
            return (key, try located(member.value, "\(path).\(key)", what: key))
        case (nil, .some(let member)):
            return (notKey, try located(member.value, "\(path).\(notKey)", what: notKey))
        }
    }

    func isActionPattern(_ text: String) -> Bool {
        if text == "*" { return true }
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return false }
        return parts[0].allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "*" || $0 == "?" }
    }

    func principals(_ node: PolicyJSONNode, _ path: String) throws(EndpointPolicyError) -> EndpointPolicy.Principals {
        if case .string(let text) = node.value {
            guard text == "*" else {
                throw fail(
                    "a Principal given as a string must be \"*\", not \"\(text)\"", path, at: node.offset,
                    hint: "name principals as {\"AWS\": [\"arn:aws:iam::ACCOUNT:role/NAME\"]}"
                )
            }
            return .everyone
        }
        let kinds = try members(node, path, what: "Principal")
        try checkKeys(kinds, allowed: EndpointPolicy.principalKeys, path, what: "Principal")
        var named: [String] = []
        for kind in kinds {
            let values = try strings(kind.value, "\(path).\(kind.key)", what: "Principal \(kind.key)")
            if kind.key == "AWS" && values.contains("*") { return .everyone }
            named += values.map { "\(kind.key):\($0)" }
        }
        guard !named.isEmpty else {
            throw fail("Principal is an empty object", path, at: node.offset, hint: "use \"*\" or {\"AWS\": [...]}")
        }
        return .named(named)
    }
}
