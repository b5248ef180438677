/// `ecsvpcd policy check --json`: one document, the check's result or the error (schema 1, fields only added).
public struct PolicyCheckDocument: Sendable, Equatable, Encodable {
    public struct Call: Sendable, Equatable, Encodable {
        public let action: String
        public let endpoint: String
        public let resource: String
        public let result: String
        public let statements: [String]
        public let reason: String
        public let when: String
        public let source: String
    }

    public struct Failure: Sendable, Equatable, Encodable {
        public let id: String
        public let message: String
        public let hint: String
        /// `line:column`, when known.
        public let position: String?
        /// The JSON path, when known.
        public let path: String?
    }

    public let schema = 1
    /// `allowed`, `conditional`, `denied`; absent with `error`.
    public let result: String?
    public let exitCode: Int32
    public let characters: Int?
    public let warnings: [String]?
    public let calls: [Call]?
    public let error: Failure?

    public init(_ check: PolicyCheck) {
        result = check.result.rawValue
        exitCode = check.result.exitCode
        characters = check.characters
        warnings = check.warnings
        calls = check.calls.map { call in
            Call(
                action: call.call.action, endpoint: call.call.endpoint.rawValue, resource: call.resource,
                result: call.result.rawValue, statements: call.statements, reason: call.reason,
                when: call.call.when, source: call.call.source
            )
        }
        error = nil
    }

    public init(error: EndpointPolicyError, exitCode: Int32) {
        result = nil
        self.exitCode = exitCode
        characters = nil
        warnings = nil
        calls = nil
        self.error = Failure(
            id: error.code.rawValue, message: error.message, hint: error.hint,
            position: error.position?.description, path: error.path
        )
    }

    public init(errorID: String, message: String, hint: String, exitCode: Int32) {
        result = nil
        self.exitCode = exitCode
        characters = nil
        warnings = nil
        calls = nil
        error = Failure(id: errorID, message: message, hint: hint, position: nil, path: nil)
    }

    private enum CodingKeys: String, CodingKey {
        case schema, result, exitCode, characters, warnings, calls, error
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schema, forKey: .schema)
        try container.encodeIfPresent(result, forKey: .result)
        try container.encode(exitCode, forKey: .exitCode)
        try container.encodeIfPresent(characters, forKey: .characters)
        try container.encodeIfPresent(warnings, forKey: .warnings)
        try container.encodeIfPresent(calls, forKey: .calls)
        try container.encodeIfPresent(error, forKey: .error)
    }
}
