import ECSVPCCore
import FoundationEssentials
import Glibc

/// `ecsvpcd policy check`: reads an endpoint policy from a file or stdin and evaluates it against the agent's
/// calls. Exit codes: 0 all allowed, 1 some calls only under conditions, 2 the agent would be denied; 64 a usage
/// error, 65 a policy that is not JSON, too long or invalid, 66 a file that cannot be read (sysexits.h).
public struct PolicyCheckRunner: Sendable {
    public static let usageError: Int32 = 64
    public static let dataError: Int32 = 65
    public static let noInput: Int32 = 66
    /// More than this is read as "too long" without reading on: 20,480 characters are at most 80 KiB of UTF-8.
    static let readLimit = 1 << 20

    public var path: String
    public var json: Bool
    public var color: Bool
    public var endpoints: [String]
    public var ignore: [String]
    public var context: AgentCallContext

    public init(path: String, json: Bool, color: Bool, endpoints: [String], ignore: [String], context: AgentCallContext) {
        self.path = path
        self.json = json
        self.color = color
        self.endpoints = endpoints
        self.ignore = ignore
        self.context = context
    }

    public func run() -> CommandOutput {
        var selected = Set<ECSEndpoint>()
        for name in endpoints {
            guard let endpoint = ECSEndpoint(rawValue: name) else {
                return usage("--endpoint \(name) is not an ECS endpoint", hint: "use ecs, ecs-agent or ecs-telemetry")
            }
            selected.insert(endpoint)
        }
        if selected.isEmpty { selected = Set(ECSEndpoint.allCases) }
        var calls = AgentCall.all
        for name in ignore {
            let wanted = name.lowercased().hasPrefix("ecs:") ? name.lowercased() : "ecs:" + name.lowercased()
            guard calls.contains(where: { $0.action.lowercased() == wanted }) else {
                return usage(
                    "--ignore \(name) is not a call of the agent",
                    hint: "one of: " + AgentCall.all.map(\.action).joined(separator: ", ")
                )
            }
            calls.removeAll { $0.action.lowercased() == wanted }
        }

        let bytes: [UInt8]
        do {
            bytes = try read()
        } catch {
            if error.errno == EFBIG {
                return failure(
                    EndpointPolicyError(
                        code: .tooLong, message: "\(inputName) is over 1 MiB; an endpoint policy may have at most 20,480 characters",
                        position: nil, path: nil, hint: "is this the policy file?"
                    ),
                    exitCode: Self.dataError
                )
            }
            return failure(
                id: "policy-unreadable", message: "cannot read \(inputName): \(String(cString: strerror(error.errno)))",
                hint: path == "-" ? "pipe the policy in, or give its file" : "check the path and its permissions",
                exitCode: Self.noInput
            )
        }
        let policy: EndpointPolicy
        do {
            policy = try EndpointPolicy.parse(bytes)
        } catch {
            return failure(error, exitCode: Self.dataError)
        }
        let check = PolicyCheck(policy: policy, context: context, endpoints: selected, calls: calls)
        guard json else {
            return CommandOutput(standardOutput: PolicyCheckTable(color: color).render(check), exitCode: check.result.exitCode)
        }
        return CommandOutput(standardOutput: encode(PolicyCheckDocument(check)), exitCode: check.result.exitCode)
    }

    private var inputName: String { path == "-" ? "standard input" : path }

    private func read() throws(SystemFileError) -> [UInt8] {
        guard path == "-" else { return try SystemFile.read(path, limit: Self.readLimit) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemFileError(path: "-", errno: errno)
            }
            if n == 0 { return result }
            result += chunk[0..<n]
            if result.count > Self.readLimit { throw SystemFileError(path: "-", errno: EFBIG) }
        }
    }

    private func encode(_ document: PolicyCheckDocument) -> String {
        let data = (try? StatusDocument.encoder().encode(document)) ?? Data("{\"schema\":1}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    private func usage(_ message: String, hint: String) -> CommandOutput {
        failure(id: "usage", message: message, hint: hint, exitCode: Self.usageError)
    }

    private func failure(id: String, message: String, hint: String, exitCode: Int32) -> CommandOutput {
        if json {
            return CommandOutput(
                standardOutput: encode(PolicyCheckDocument(errorID: id, message: message, hint: hint, exitCode: exitCode)),
                standardError: "ecsvpcd policy check: \(message)\n", exitCode: exitCode
            )
        }
        return CommandOutput(standardError: "ecsvpcd policy check: \(message)\n  hint: \(hint)\n", exitCode: exitCode)
    }

    private func failure(_ error: EndpointPolicyError, exitCode: Int32) -> CommandOutput {
        let text = "ecsvpcd policy check: \(inputName): \(error)\n  hint: \(error.hint)\n"
        if json {
            return CommandOutput(
                standardOutput: encode(PolicyCheckDocument(error: error, exitCode: exitCode)), standardError: text,
                exitCode: exitCode
            )
        }
        return CommandOutput(standardError: text, exitCode: exitCode)
    }
}
