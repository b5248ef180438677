/// Why the Docker Engine or the agent's introspection API could not say what was asked.
public struct AgentError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The peer could not be reached or did not answer in time.
        public static let unreachable = Code("unreachable")
        /// The peer answered, but not with what its API promises (bad status, bad JSON, missing fields).
        public static let unexpectedReply = Code("unexpected reply")
        /// The engine does not know the container.
        public static let noSuchContainer = Code("no such container")
        /// The engine speaks no API version this client knows.
        public static let unsupportedVersion = Code("unsupported API version")
        /// The engine refused the request (e.g. a 500 from a failing restart).
        public static let refused = Code("refused")

        public var description: String { name }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
