/// Whether the agent's calls pass an endpoint policy, by IAM's rules: an explicit Deny wins, otherwise an Allow is
/// needed. What cannot be decided from the policy alone (a Condition, named principals, a Resource that depends on
/// the account or cluster not given) makes the call `conditional`: never guessed as allowed or denied.
public struct PolicyCheck: Sendable, Equatable {
    public enum Result: String, Sendable, Codable, Comparable {
        case allowed
        case conditional
        case denied

        private var rank: Int {
            switch self {
            case .allowed: 0
            case .conditional: 1
            case .denied: 2
            }
        }

        public static func < (lhs: Result, rhs: Result) -> Bool { lhs.rank < rhs.rank }

        /// 0 all allowed, 1 some calls only under conditions (not evaluated), 2 the agent would be denied.
        public var exitCode: Int32 { Int32(rank) }
    }

    public struct CallResult: Sendable, Equatable {
        public let call: AgentCall
        /// The resource as evaluated, with `{…}` for unknown parts.
        public let resource: String
        public let result: Result
        /// The statements that decided (Sid or `Statement[N]`), if any.
        public let statements: [String]
        /// Why, in a sentence.
        public let reason: String
    }

    public let calls: [CallResult]
    public let warnings: [String]
    public let characters: Int

    /// The worst result over the calls checked.
    public var result: Result { calls.map(\.result).max() ?? .allowed }

    /// Evaluates `policy` against the agent's calls through `endpoints` (all three by default).
    public init(
        policy: EndpointPolicy, context: AgentCallContext = AgentCallContext(),
        endpoints: Set<ECSEndpoint> = Set(ECSEndpoint.allCases), calls: [AgentCall] = AgentCall.all
    ) {
        var warnings = policy.warnings
        if policy.statements.contains(where: { !$0.conditionOperators.isEmpty }) {
            warnings.append("Conditions are not evaluated: a call allowed only under a Condition is reported conditional")
        }
        self.warnings = warnings
        self.characters = policy.characters
        self.calls = calls.filter { endpoints.contains($0.endpoint) }.map { call in
            PolicyCheck.evaluate(call, policy: policy, context: context)
        }
    }

    static func evaluate(_ call: AgentCall, policy: EndpointPolicy, context: AgentCallContext) -> CallResult {
        var definiteAllow: [String] = []
        var possibleAllow: [(String, [String])] = []
        var definiteDeny: [String] = []
        var possibleDeny: [(String, [String])] = []
        for statement in policy.statements {
            let applies = StatementMatch(statement, call: call, context: context, variables: policy.version == "2012-10-17")
            switch (statement.effect, applies) {
            case (_, .no): break
            case (.allow, .yes): definiteAllow.append(statement.label)
            case (.allow, .unknown(let why)): possibleAllow.append((statement.label, why))
            case (.deny, .yes): definiteDeny.append(statement.label)
            case (.deny, .unknown(let why)): possibleDeny.append((statement.label, why))
            }
        }
        let resource = context.describe(call.resource)
        func result(_ result: Result, _ statements: [String], _ reason: String) -> CallResult {
            CallResult(call: call, resource: resource, result: result, statements: statements, reason: reason)
        }
        func explain(_ list: [(String, [String])]) -> String {
            list.map { "\($0.0) (\($0.1.joined(separator: "; ")))" }.joined(separator: ", ")
        }
        if !definiteDeny.isEmpty {
            return result(.denied, definiteDeny, "explicitly denied by \(definiteDeny.joined(separator: ", "))")
        }
        if !definiteAllow.isEmpty {
            if !possibleDeny.isEmpty {
                return result(
                    .conditional, possibleDeny.map(\.0),
                    "allowed by \(definiteAllow.joined(separator: ", ")), unless Deny \(explain(possibleDeny)) applies"
                )
            }
            return result(.allowed, definiteAllow, "allowed by \(definiteAllow.joined(separator: ", "))")
        }
        if !possibleAllow.isEmpty {
            let denyNote = possibleDeny.isEmpty ? "" : "; and Deny \(explain(possibleDeny)) may apply"
            return result(.conditional, possibleAllow.map(\.0), "allowed only if \(explain(possibleAllow))\(denyNote)")
        }
        return result(.denied, [], "no statement allows it (implicit deny)")
    }
}

/// Whether a statement applies to a call: yes, no, or unknown with the reasons.
enum StatementMatch: Equatable {
    case yes
    case no
    case unknown([String])

    /// `variables`: the policy's version (2012-10-17) substitutes `${…}` policy variables in resources.
    init(_ statement: EndpointPolicy.Statement, call: AgentCall, context: AgentCallContext, variables: Bool) {
        let actionListed = statement.actions.contains { Wildcard.matches(pattern: $0, value: call.action, caseInsensitive: true) }
        guard actionListed != statement.notAction else {
            self = .no
            return
        }
        var reasons: [String] = []
        switch statement.principals {
        case .missing, .everyone:
            break
        case .named(let names):
            if names.contains(where: { $0.hasPrefix("AWS:") }) {
                reasons.append("Principal names \(names.joined(separator: ", ")): whether the instance role is among them cannot be known here")
            } else {
                self = .no
                return
            }
        case .everyoneExcept(let names):
            reasons.append("NotPrincipal \(names.joined(separator: ", ")): whether it excludes the instance role cannot be known here")
        }
        let resourceListed = ResourceMatch(
            patterns: statement.resources, resource: call.resource, context: context, variables: variables
        )
        switch (resourceListed, statement.notResource) {
        case (.yes, false), (.no, true): break
        case (.no, false), (.yes, true):
            self = .no
            return
        case (.unknown, _):
            reasons.append(
                "\(statement.notResource ? "NotResource" : "Resource") depends on \(context.describe(call.resource)): give --partition, --region, --account and --cluster"
            )
        }
        if !statement.conditionOperators.isEmpty {
            reasons.append("Condition \(statement.conditionOperators.joined(separator: ", ")) not evaluated")
        }
        self = reasons.isEmpty ? .yes : .unknown(reasons)
    }
}

/// Whether any of a statement's resource patterns covers the call's resource.
enum ResourceMatch: Equatable {
    case yes
    case no
    case unknown

    init(patterns: [String], resource: AgentCallResource, context: AgentCallContext, variables: Bool) {
        var result = ResourceMatch.no
        for pattern in patterns {
            switch ResourceMatch(pattern: pattern, resource: resource, context: context, variables: variables) {
            case .yes:
                self = .yes
                return
            case .unknown: result = .unknown
            case .no: break
            }
        }
        self = result
    }

    init(pattern: String, resource: AgentCallResource, context: AgentCallContext, variables: Bool) {
        if variables, let substituted = Self.variablesAsWildcards(pattern) {
            // A policy variable (${aws:PrincipalAccount}) takes its value from the request: not known here.
            let possible = resource == .none
                ? substituted.allSatisfy { $0 == "*" }
                : Wildcard.intersects(substituted, context.arn(resource, filler: String(Wildcard.hole)))
            self = possible ? .unknown : .no
            return
        }
        if resource == .none {
            // An action without resource-level permissions is covered only by "*".
            self = pattern.allSatisfy({ $0 == "*" }) ? .yes : .no
            return
        }
        // Unknown parts filled with two fillers no pattern's literal text can match (control characters): a
        // pattern matching both whatever their length covers the unknown parts with wildcards.
        let short = context.arn(resource, filler: "\u{1}")
        let long = context.arn(resource, filler: String(repeating: "\u{1}", count: 40))
        if Wildcard.matches(pattern: pattern, value: short, caseInsensitive: false),
            Wildcard.matches(pattern: pattern, value: long, caseInsensitive: false)
        {
            self = .yes
        } else if Wildcard.intersects(pattern, context.arn(resource, filler: String(Wildcard.hole))) {
            self = .unknown
        } else {
            self = .no
        }
    }
}

extension ResourceMatch {
    /// The pattern with every `${…}` policy variable as `*` (`${*}`, `${?}`, `${$}` stand for the character
    /// itself), or nil when it has none.
    static func variablesAsWildcards(_ pattern: String) -> String? {
        let scalars = Array(pattern.unicodeScalars)
        var result = String.UnicodeScalarView()
        var found = false
        var index = 0
        while index < scalars.count {
            if scalars[index] == "$", index + 1 < scalars.count, scalars[index + 1] == "{",
                let close = scalars[(index + 2)...].firstIndex(of: "}")
            {
                found = true
                // ${*}, ${?}, ${$} stand for the character itself; as a wildcard that is only wider, and a
                // pattern with variables is never more than "may match" anyway.
                let name = scalars[(index + 2)..<close]
                result.append(name.count == 1 && "*?$".unicodeScalars.contains(name[name.startIndex]) ? name[name.startIndex] : "*")
                index = close + 1
            } else {
                result.append(scalars[index])
                index += 1
            }
        }
        return found ? String(result) : nil
    }
}

/// IAM's wildcards: `*` any run of characters (also none), `?` exactly one.
enum Wildcard {
    static func matches(pattern: String, value: String, caseInsensitive: Bool) -> Bool {
        let p = Array((caseInsensitive ? pattern.lowercased() : pattern).unicodeScalars)
        let v = Array((caseInsensitive ? value.lowercased() : value).unicodeScalars)
        // Greedy match with backtracking to the last star: linear in practice, no recursion.
        var i = 0
        var j = 0
        var star = -1
        var starValue = 0
        while j < v.count {
            if i < p.count, p[i] == "?" || p[i] == v[j] {
                i += 1
                j += 1
            } else if i < p.count, p[i] == "*" {
                star = i
                starValue = j
                i += 1
            } else if star >= 0 {
                i = star + 1
                starValue += 1
                j = starValue
            } else {
                return false
            }
        }
        while i < p.count, p[i] == "*" { i += 1 }
        return i == p.count
    }

    /// Stands for an unknown part of an ARN (account, region, cluster, id): any run of characters without `/`
    /// or `:`, which no such part contains.
    static let hole: Unicode.Scalar = "\u{2}"

    /// Whether some string matches both `pattern` (with `*` and `?`) and `template` (with `*` and `hole`s),
    /// case-sensitive.
    static func intersects(_ pattern: String, _ template: String) -> Bool {
        let a = Array(pattern.unicodeScalars)
        let b = Array(template.unicodeScalars)
        // reachable[i][j]: a[..<i] and b[..<j] can match one common string.
        var reachable = Array(repeating: Array(repeating: false, count: b.count + 1), count: a.count + 1)
        reachable[0][0] = true
        for i in 0...a.count {
            for j in 0...b.count where reachable[i][j] {
                let aStar = i < a.count && a[i] == "*"
                let bStar = j < b.count && b[j] == "*"
                let bHole = j < b.count && b[j] == hole
                if aStar { reachable[i + 1][j] = true }
                if bStar || bHole { reachable[i][j + 1] = true }
                guard i < a.count, j < b.count else { continue }
                if aStar { reachable[i][j + 1] = true }
                if bStar { reachable[i + 1][j] = true }
                if bHole, !aStar, a[i] != "/", a[i] != ":" { reachable[i + 1][j] = true }
                if !aStar, !bStar, !bHole, a[i] == "?" || b[j] == "?" || a[i] == b[j] {
                    reachable[i + 1][j + 1] = true
                }
            }
        }
        return reachable[a.count][b.count]
    }
}
