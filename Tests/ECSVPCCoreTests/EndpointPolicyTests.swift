@testable import ECSVPCCore
import Testing

/// AWS's own example, verbatim from the Amazon ECS Developer Guide, "Creating a VPC endpoint policy for Amazon
/// ECS" (awsdocs/amazon-ecs-developer-guide, doc_source/vpc-endpoints.md): no Principal, CreateCluster and
/// ListClusters only.
let awsECSExamplePolicy = """
    {
       "Statement":[
        {
          "Effect": "Allow",
          "Action": [
            "ecs:CreateCluster",
            "ecs:ListClusters"
          ],
          "Resource": [
            "*"
          ]
        }
      ]
    }
    """

/// The default endpoint policy the PrivateLink guide documents (full access).
let defaultEndpointPolicy = #"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}"#

private let prod = AgentCallContext(partition: "aws", region: "eu-west-1", account: "123456789012", cluster: "prod")

private func check(
    _ text: String, context: AgentCallContext = AgentCallContext(), endpoints: Set<ECSEndpoint> = Set(ECSEndpoint.allCases)
) throws -> PolicyCheck {
    PolicyCheck(policy: try EndpointPolicy.parse(text), context: context, endpoints: endpoints)
}

private func results(_ check: PolicyCheck) -> [String: PolicyCheck.Result] {
    Dictionary(uniqueKeysWithValues: check.calls.map { ($0.call.action, $0.result) })
}

private func statement(_ fields: String) -> String {
    #"{"Version": "2012-10-17", "Statement": [{"# + fields + "}]}"
}

/// One row of the policy table: a policy, what to know, the result per call that differs from `otherwise`.
struct PolicyCase: CustomTestStringConvertible, Sendable {
    let name: String
    let policy: String
    var context = AgentCallContext()
    var endpoints = Set(ECSEndpoint.allCases)
    let overall: PolicyCheck.Result
    let otherwise: PolicyCheck.Result
    var except: [String: PolicyCheck.Result] = [:]

    var testDescription: String { name }
}

private let allowAll = #""Effect": "Allow", "Principal": "*", "Action": "ecs:*", "Resource": "*""#

let policyTable: [PolicyCase] = [
    PolicyCase(
        name: "AWS's ECS example (CreateCluster, ListClusters) denies every other call", policy: awsECSExamplePolicy,
        overall: .denied, otherwise: .denied, except: ["ecs:CreateCluster": .allowed]
    ),
    PolicyCase(name: "the default endpoint policy allows everything", policy: defaultEndpointPolicy, overall: .allowed, otherwise: .allowed),
    PolicyCase(
        name: "an explicit Deny wins over an Allow of everything",
        policy: #"{"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "ecs:Poll", "Resource": "*"}, {"# + allowAll + "}]}",
        overall: .denied, otherwise: .allowed, except: ["ecs:Poll": .denied]
    ),
    PolicyCase(
        name: "actions match case-insensitively, with * and ?",
        policy: statement(#""Effect": "Allow", "Principal": "*", "Resource": "*", "Action": ["ECS:submit*", "ecs:registercontainerinstance", "ecs:Discover?ollEndpoint", "ecs:*Telemetry*", "ecs:P??l"]"#),
        overall: .denied, otherwise: .denied,
        except: [
            "ecs:SubmitTaskStateChange": .allowed, "ecs:SubmitContainerStateChange": .allowed,
            "ecs:SubmitAttachmentStateChanges": .allowed, "ecs:RegisterContainerInstance": .allowed,
            "ecs:DiscoverPollEndpoint": .allowed, "ecs:StartTelemetrySession": .allowed, "ecs:Poll": .allowed,
        ]
    ),
    PolicyCase(
        name: "a ? matches exactly one character",
        policy: statement(#""Effect": "Allow", "Principal": "*", "Resource": "*", "Action": ["ecs:Po?", "ecs:Poll?"]"#),
        overall: .denied, otherwise: .denied
    ),
    PolicyCase(
        name: "NotAction allows everything but what it names",
        policy: statement(#""Effect": "Allow", "Principal": "*", "NotAction": ["ecs:CreateCluster", "ec2:*"], "Resource": "*""#),
        overall: .denied, otherwise: .allowed, except: ["ecs:CreateCluster": .denied]
    ),
    PolicyCase(
        name: "a Deny with NotAction denies everything else",
        policy: #"{"Statement": [{"# + allowAll + #"}, {"Effect": "Deny", "Principal": "*", "NotAction": "ecs:Poll", "Resource": "*"}]}"#,
        overall: .denied, otherwise: .denied, except: ["ecs:Poll": .allowed]
    ),
    PolicyCase(
        name: "an Allow under a Condition is conditional",
        policy: statement(allowAll + #", "Condition": {"StringEquals": {"aws:PrincipalAccount": "123456789012"}}"#),
        overall: .conditional, otherwise: .conditional
    ),
    PolicyCase(
        name: "a Deny under a Condition makes an allowed call conditional",
        policy: #"{"Statement": [{"# + allowAll + #"}, {"Effect": "Deny", "Principal": "*", "Action": "ecs:Poll", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": false}}}]}"#,
        overall: .conditional, otherwise: .allowed, except: ["ecs:Poll": .conditional]
    ),
    PolicyCase(
        name: "an unconditional Deny wins over a conditional Allow",
        policy: #"{"Statement": [{"# + allowAll + #", "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/ecs*"}}}, {"Effect": "Deny", "Principal": "*", "Action": "ecs:Submit*", "Resource": "*"}]}"#,
        overall: .denied, otherwise: .conditional,
        except: ["ecs:SubmitTaskStateChange": .denied, "ecs:SubmitContainerStateChange": .denied, "ecs:SubmitAttachmentStateChanges": .denied]
    ),
    PolicyCase(
        name: "a Principal naming roles cannot be known to cover the instance role",
        policy: statement(#""Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::123456789012:role/ecsInstanceRole"]}, "Action": "ecs:*", "Resource": "*""#),
        overall: .conditional, otherwise: .conditional
    ),
    PolicyCase(
        name: "{\"AWS\": \"*\"} is everyone",
        policy: statement(#""Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "ecs:*", "Resource": "*""#),
        overall: .allowed, otherwise: .allowed
    ),
    PolicyCase(
        name: "a service principal is not the instance role",
        policy: statement(#""Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "ecs:*", "Resource": "*""#),
        overall: .denied, otherwise: .denied
    ),
    PolicyCase(
        name: "NotPrincipal cannot be known to leave out the instance role",
        policy: #"{"Statement": [{"# + allowAll + #"}, {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "ecs:*", "Resource": "*"}]}"#,
        overall: .conditional, otherwise: .conditional
    ),
    PolicyCase(
        name: "a cluster ARN without the account and cluster given is conditional; actions without resources need *",
        policy: statement(#""Effect": "Allow", "Principal": "*", "Action": "ecs:*", "Resource": ["arn:aws:ecs:eu-west-1:123456789012:cluster/prod", "arn:aws:ecs:eu-west-1:123456789012:container-instance/prod/*", "arn:aws:ecs:eu-west-1:123456789012:task/prod/*"]"#),
        overall: .denied, otherwise: .conditional,
        except: ["ecs:CreateCluster": .denied, "ecs:DiscoverPollEndpoint": .denied]
    ),
    PolicyCase(
        name: "the same ARNs with the cluster given are allowed",
        policy: statement(#""Effect": "Allow", "Principal": "*", "Action": "ecs:*", "Resource": ["arn:aws:ecs:eu-west-1:123456789012:cluster/prod", "arn:aws:ecs:eu-west-1:123456789012:container-instance/prod/*", "arn:aws:ecs:eu-west-1:123456789012:task/prod/*"]"#),
        context: prod, overall: .denied, otherwise: .allowed,
        except: ["ecs:CreateCluster": .denied, "ecs:DiscoverPollEndpoint": .denied]
    ),
    PolicyCase(
        name: "another cluster's ARNs deny",
        policy: statement(#""Effect": "Allow", "Principal": "*", "Action": "ecs:*", "Resource": ["arn:aws:ecs:eu-west-1:123456789012:cluster/dev", "arn:aws:ecs:eu-west-1:123456789012:container-instance/dev/*", "arn:aws:ecs:*:*:task/dev/*"]"#),
        context: prod, overall: .denied, otherwise: .denied
    ),
    PolicyCase(
        name: "a wildcard over account and region covers unknown parts",
        policy: statement(#""Effect": "Allow", "Principal": "*", "Action": "ecs:*", "Resource": ["arn:*:ecs:*:*:*", "*"]"#),
        overall: .allowed, otherwise: .allowed
    ),
    PolicyCase(
        name: "another service's resources never cover ECS calls",
        policy: statement(#""Effect": "Allow", "Principal": "*", "Action": "ecs:*", "Resource": "arn:aws:s3:::bucket/*""#),
        overall: .denied, otherwise: .denied
    ),
    PolicyCase(
        name: "NotResource of another cluster allows this cluster's calls",
        policy: statement(#""Effect": "Allow", "Principal": "*", "Action": "ecs:*", "NotResource": "arn:aws:ecs:*:*:cluster/other""#),
        context: prod, overall: .allowed, otherwise: .allowed
    ),
    PolicyCase(
        name: "a policy variable in a Resource is not known here",
        policy: statement(#""Effect": "Allow", "Principal": "*", "Action": "ecs:*", "Resource": ["arn:aws:ecs:*:${aws:PrincipalAccount}:*", "arn:aws:s3:::${aws:username}/*"]"#),
        context: prod, overall: .denied, otherwise: .conditional,
        except: ["ecs:CreateCluster": .denied, "ecs:DiscoverPollEndpoint": .denied]
    ),
    PolicyCase(
        name: "without Version 2012-10-17, ${…} is literal text",
        policy: #"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecs:*", "Resource": "arn:aws:ecs:*:${aws:PrincipalAccount}:*"}]}"#,
        context: prod, overall: .denied, otherwise: .denied
    ),
    PolicyCase(
        name: "the ecs-agent endpoint needs only ecs:Poll",
        policy: statement(#""Effect": "Allow", "Principal": "*", "Action": "ecs:Poll", "Resource": "*""#),
        endpoints: [.ecsAgent], overall: .allowed, otherwise: .allowed
    ),
    PolicyCase(
        name: "the ecs-telemetry endpoint with only ecs:Poll denies the telemetry session",
        policy: statement(#""Effect": "Allow", "Principal": "*", "Action": "ecs:Poll", "Resource": "*""#),
        endpoints: [.ecsTelemetry], overall: .denied, otherwise: .denied
    ),
]

@Suite("Endpoint policy check")
struct EndpointPolicyTests {
    @Test("the table of policies", arguments: policyTable)
    func table(_ row: PolicyCase) throws {
        let result = try check(row.policy, context: row.context, endpoints: row.endpoints)
        #expect(result.result == row.overall, "\(result.calls.map { "\($0.call.action): \($0.result) \($0.reason)" })")
        #expect(result.result.exitCode == ["allowed": 0, "conditional": 1, "denied": 2][row.overall.rawValue])
        #expect(Set(result.calls.map(\.call.endpoint)) == row.endpoints)
        for call in result.calls {
            #expect(call.result == (row.except[call.call.action] ?? row.otherwise), "\(call.call.action): \(call.reason)")
        }
    }

    @Test("AWS's ECS example gives 2, names the calls it denies and warns of its missing Principal")
    func awsExample() throws {
        let result = try check(awsECSExamplePolicy)
        #expect(result.result.exitCode == 2)
        let denied = result.calls.filter { $0.result == .denied }.map(\.call.action)
        for action in [
            "ecs:RegisterContainerInstance", "ecs:DiscoverPollEndpoint", "ecs:SubmitTaskStateChange",
            "ecs:SubmitContainerStateChange", "ecs:Poll", "ecs:StartTelemetrySession",
        ] {
            #expect(denied.contains(action))
        }
        #expect(!denied.contains("ecs:CreateCluster"))
        #expect(result.calls.first { $0.call.action == "ecs:Poll" }?.reason == "no statement allows it (implicit deny)")
        #expect(result.warnings.contains { $0.contains("no Principal") && $0.contains("PrivateLink guide requires") })
    }

    @Test("every call names the endpoint it goes through and a file of the agent's source")
    func callsList() {
        let byEndpoint = Dictionary(grouping: AgentCall.all, by: \.endpoint).mapValues { $0.map(\.action) }
        #expect(byEndpoint[.ecsAgent] == ["ecs:Poll"])
        #expect(byEndpoint[.ecsTelemetry] == ["ecs:StartTelemetrySession"])
        #expect(byEndpoint[.ecs]?.contains("ecs:RegisterContainerInstance") == true)
        #expect(AgentCall.all.allSatisfy { $0.source.contains(".go") && $0.action.hasPrefix("ecs:") })
        #expect(Set(AgentCall.all.map(\.action)).count == AgentCall.all.count)
    }

    @Test("a deciding statement is named by its Sid")
    func sid() throws {
        let result = try check(#"{"Statement": [{"Sid": "NoPoll", "Effect": "Deny", "Principal": "*", "Action": "ecs:Poll", "Resource": "*"}]}"#)
        #expect(result.calls.first { $0.call.action == "ecs:Poll" }?.statements == ["NoPoll"])
        #expect(result.calls.first { $0.call.action == "ecs:Poll" }?.reason == "explicitly denied by NoPoll")
    }
}

@Suite("Endpoint policy errors")
struct EndpointPolicyErrorTests {
    private func error(_ text: String) -> EndpointPolicyError? {
        do {
            _ = try EndpointPolicy.parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test("not JSON: the line and column of the fault")
    func notJSON() throws {
        let fault = try #require(error("{\n  \"Statement\": [\n    {\"Effect\": \"Allow\",}\n  ]\n}"))
        #expect(fault.code == .notJSON)
        #expect(fault.position == TextPosition(line: 3, column: 23))
        #expect(fault.message.contains("trailing comma"))
        #expect(error("")?.message.contains("empty") == true)
        #expect(error("{\"Statement\": []} x")?.position == TextPosition(line: 1, column: 19))
        #expect(error("{\"a\": 1, \"a\": 2}")?.message.contains("duplicate key \"a\"") == true)
        #expect(error("{\"a\": \"\\ud800\"}")?.code == .notJSON)
        #expect(error("{\"a\": \"tab\there\"}")?.message.contains("control character") == true)
        #expect(error(String(repeating: "[", count: 100))?.message.contains("nested deeper") == true)
        #expect(error("{\"a\": 01}")?.message.contains("leading zero") == true)
        #expect(error("{\"a\": tru}")?.code == .notJSON)
        #expect(error("{'Statement': []}")?.position == TextPosition(line: 1, column: 2))
    }

    @Test("20,480 characters pass, one more is too long, multi-byte characters count once")
    func length() throws {
        let body = #"{"Statement": {"# + allowAll + "}}"
        let padding = String(repeating: " ", count: EndpointPolicy.maxCharacters - body.count)
        let exact = try EndpointPolicy.parse(String(body.dropLast()) + padding + "}")
        #expect(exact.characters == EndpointPolicy.maxCharacters)
        let fault = try #require(error(String(body.dropLast()) + padding + " }"))
        #expect(fault.code == .tooLong)
        #expect(fault.message.contains("20481"))
        #expect(fault.position?.line == 1)
        let accents = #"{"Statement": {"Sid": "é", "# + allowAll + "}}"
        let accentPadding = String(repeating: " ", count: EndpointPolicy.maxCharacters - accents.unicodeScalars.count)
        #expect(try EndpointPolicy.parse(String(accents.dropLast()) + accentPadding + "}").characters == EndpointPolicy.maxCharacters)
    }

    @Test("unknown elements and bad values: the JSON path, position and a hint")
    func invalid() throws {
        let misspelt = try #require(error(#"{"Statment": []}"#))
        #expect(misspelt.code == .invalid)
        #expect(misspelt.path == "$.Statment")
        #expect(misspelt.position == TextPosition(line: 1, column: 2))
        #expect(misspelt.hint.contains("did you mean Statement?"))

        let lower = try #require(error(#"{"Statement": [{"effect": "Allow", "Action": "*", "Resource": "*"}]}"#))
        #expect(lower.path == "$.Statement[0].effect")
        #expect(lower.hint.contains("case-sensitive"))

        let action = try #require(error(statement(#""Effect": "Allow", "Action": ["ecs:Poll", "Poll"], "Resource": "*""#)))
        #expect(action.path == "$.Statement[0].Action[1]")
        #expect(action.message.contains("\"Poll\" is not an action"))

        #expect(error(statement(#""Effect": "allow", "Action": "*", "Resource": "*""#))?.path == "$.Statement[0].Effect")
        #expect(error(statement(#""Effect": "Allow", "Action": "*", "NotAction": "ecs:Poll", "Resource": "*""#))?.message.contains("both Action and NotAction") == true)
        #expect(error(statement(#""Effect": "Allow", "Action": "*""#))?.message.contains("neither Resource nor NotResource") == true)
        #expect(error(statement(#""Effect": "Allow", "Action": [], "Resource": "*""#))?.message.contains("empty array") == true)
        #expect(error(statement(#""Effect": "Allow", "Principal": "arn:aws:iam::1:root", "Action": "*", "Resource": "*""#))?.path == "$.Statement[0].Principal")
        #expect(error(statement(#""Effect": "Allow", "Principal": {"Aws": "*"}, "Action": "*", "Resource": "*""#))?.path == "$.Statement[0].Principal.Aws")
        #expect(error(statement(#""Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": {"x": 1}}}"#))?.path == "$.Statement[0].Condition.Bool.aws:SecureTransport")
        #expect(error(#"{"Version": "2012-10-18", "Statement": []}"#)?.path == "$.Version")
        #expect(error(#"["Statement"]"#)?.path == "$")
        #expect(error(#"{"Version": "2012-10-17"}"#)?.message.contains("no Statement") == true)
        #expect(error(#"{"Statement": "Allow"}"#)?.path == "$.Statement")
        let operatorTypo = try #require(error(statement(#""Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEqual": {"aws:PrincipalAccount": "1"}}"#)))
        #expect(operatorTypo.path == "$.Statement[0].Condition.StringEqual")
        #expect(operatorTypo.message == "unknown condition operator \"StringEqual\"")
        #expect(error(statement(#""Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"ForAnyValue:StringLikeIfExists": {"k": ["a*"]}, "Null": {"k": true}}"#)) == nil)
        #expect(error(statement(#""Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"NullIfExists": {"k": true}}"#)) != nil)
    }

    @Test("the error reads as: position, path, message")
    func description() throws {
        let fault = try #require(error("{\"Statement\": [{\"Effect\": \"Allow\", \"Acton\": \"*\", \"Resource\": \"*\"}]}"))
        #expect(fault.description == #"line 1, column 36, $.Statement[0].Acton: unknown element "Acton" in a statement"#)
        #expect(fault.hint.contains("did you mean Action?"))
    }
}

@Suite("IAM wildcards")
struct WildcardTests {
    @Test("* is any run, ? one character")
    func matches() {
        #expect(Wildcard.matches(pattern: "ecs:Submit*", value: "ecs:SubmitTaskStateChange", caseInsensitive: false))
        #expect(Wildcard.matches(pattern: "*", value: "", caseInsensitive: false))
        #expect(Wildcard.matches(pattern: "a*b*c", value: "aXbYbc", caseInsensitive: false))
        #expect(!Wildcard.matches(pattern: "a*b*c", value: "aXbYcZ", caseInsensitive: false))
        #expect(Wildcard.matches(pattern: "ECS:POLL", value: "ecs:Poll", caseInsensitive: true))
        #expect(!Wildcard.matches(pattern: "ECS:POLL", value: "ecs:Poll", caseInsensitive: false))
        #expect(!Wildcard.matches(pattern: "ecs:Pol?", value: "ecs:Pol", caseInsensitive: false))
    }

    @Test("two patterns intersect when one string can match both")
    func intersects() {
        #expect(Wildcard.intersects("arn:aws:ecs:eu-west-1:1:cluster/prod", "arn:*:ecs:*:*:cluster/*"))
        #expect(Wildcard.intersects("a?c", "*b*"))
        #expect(!Wildcard.intersects("a?", "abc"))
        #expect(Wildcard.intersects("*x", "y*"))
        let hole = String(Wildcard.hole)
        #expect(Wildcard.intersects("arn:aws:ecs:*:1:cluster/prod", "arn:aws:ecs:\(hole):\(hole):cluster/\(hole)"))
        #expect(!Wildcard.intersects("arn:aws:s3:::b/*", "arn:\(hole):ecs:\(hole):\(hole):cluster/\(hole)"))
        #expect(!Wildcard.intersects("*/dev/*", "cluster/prod/\(hole)"), "an unknown id holds no /")
        #expect(Wildcard.intersects("*/dev/*", "cluster/\(hole)/\(hole)"))
    }
}
