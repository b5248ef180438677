import ArgumentParser
import ECSVPCCore
import ECSVPCD
import Glibc

/// `ecsvpcd policy …`: endpoint policies of the ECS endpoints.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Endpoint policies of the ECS endpoints.",
        subcommands: [PolicyCheckCommand.self]
    )
}

struct PolicyCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Evaluate an endpoint policy (JSON) against the calls the ECS agent makes through each ECS endpoint.",
        discussion: """
            Explicit Deny wins, an Allow is needed; wildcards in actions and resources, NotAction and NotResource \
            are evaluated. Conditions, named principals and resources that depend on values not given are not: \
            such calls are "conditional". Without a Principal a statement is read as "*" (with a warning).
            Exit code: 0 every call allowed; 1 some only under conditions; 2 the agent would be denied; 64 usage \
            error; 65 the policy is not JSON, too long (20,480 characters) or invalid; 66 the file cannot be read.
            """
    )

    @Argument(help: ArgumentHelp("The policy file, or - for standard input (the default when piped).", valueName: "FILE|-"))
    var file: String?
    /// Taken and not read: `--config PATH` is accepted on every command, as the contract says.
    @OptionGroup var options: ConfigOptions
    @Flag(name: .long, help: "Print the result as a JSON document.") var json = false
    @Option(
        name: .long,
        help: ArgumentHelp("Only the calls through this endpoint (repeatable): ecs, ecs-agent, ecs-telemetry.", valueName: "ENDPOINT")
    )
    var endpoint: [String] = []
    @Option(name: .long, help: ArgumentHelp("Leave out a call the agent never makes here (repeatable), e.g. ecs:CreateCluster.", valueName: "ACTION"))
    var ignore: [String] = []
    @Option(name: .long, help: "The partition for resource ARNs (aws, aws-cn, aws-us-gov).") var partition: String?
    @Option(name: .long, help: "The region for resource ARNs.") var region: String?
    @Option(name: .long, help: "The account id for resource ARNs.") var account: String?
    @Option(name: .long, help: "The cluster name for resource ARNs.") var cluster: String?

    func run() async throws {
        if file == nil && isatty(STDIN_FILENO) == 1 {
            throw ValidationError("give the policy FILE, or pipe it in (- reads standard input)")
        }
        let runner = PolicyCheckRunner(
            path: file ?? "-", json: json, color: StatusTable.wantsColor(), endpoints: endpoint, ignore: ignore,
            context: AgentCallContext(partition: partition, region: region, account: account, cluster: cluster)
        )
        try finish(runner.run())
    }
}
