import ECSVPCCore
import Testing

@Suite("backend-host-elsewhere names where the agent's API host comes from")
struct AgentAPIHostFindingTests {
    @Test("an override to another host names the setting, the file and the line")
    func namesOrigin() throws {
        let origin = AgentSettings.Origin(setting: "AWS_ENDPOINT_URL_ECS", source: .ecsConfig, path: "/etc/ecs/ecs.config", line: 4)
        let settings = AgentSettings(apiHost: .init(endpoint: "https://ecs.example.internal", origins: [origin]))
        let finding = try #require(AgentObservationFixture(settings: settings).assess().finding("backend-host-elsewhere"))
        #expect(finding.severity == .warning)
        #expect(finding.message.hasPrefix(
            "The agent's API host is ecs.example.internal (https://ecs.example.internal), set by AWS_ENDPOINT_URL_ECS in "
                + "/etc/ecs/ecs.config line 4: its API calls do not go to the ecs endpoint name of us-east-1"
        ))
    }

    @Test(
        "this region's FIPS and dual-stack names are not elsewhere; another region's are",
        arguments: [
            (AgentSettings.APIHost(fips: true, origins: [.init(setting: "AWS_USE_FIPS_ENDPOINT", source: .ecsConfig)]), false),
            (AgentSettings.APIHost(endpoint: "ecs-fips.us-east-1.amazonaws.com:443", origins: [.init(setting: "APIEndpoint", source: .userData)]), false),
            (AgentSettings.APIHost(dualStack: true, origins: [.init(setting: "AWS_USE_DUALSTACK_ENDPOINT", source: .ecsConfig)]), false),
            (AgentSettings.APIHost(region: "us-west-2", origins: [.init(setting: "AWS_DEFAULT_REGION", source: .ecsConfig)]), true),
            (AgentSettings.APIHost(endpoint: "ecs.us-east-1.example.internal", origins: [.init(setting: "APIEndpoint", source: .ecsConfigJSON, path: "/etc/ecs/ecs.config.json")]), true),
        ] as [(AgentSettings.APIHost, Bool)]
    )
    func fipsIsNotElsewhere(apiHost: AgentSettings.APIHost, elsewhere: Bool) {
        let ids = AgentObservationFixture(settings: AgentSettings(apiHost: apiHost)).assess().findingIDs
        #expect(ids.contains("backend-host-elsewhere") == elsewhere)
    }
}
