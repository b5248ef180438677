import ECSVPCCore
import Testing

@testable import ECSVPCD

/// ecs.config lines, one file, as the agent's environment.
private func ecsConfig(_ lines: String..., path: String = "/etc/ecs/ecs.config") -> (path: String, values: [AgentConfigText.Value]) {
    (path, AgentConfigText.parse(lines.joined(separator: "\n")).values)
}

private func json(_ text: String, path: String = "/etc/ecs/ecs.config.json") throws -> (path: String, config: AgentJSONConfig) {
    (path, try AgentJSONConfig.file(text))
}

@Suite("The agent's API host: every backend override, in the agent's order of precedence")
struct AgentBackendOverrideTests {
    static let userData = #"{"ECSAgentConfiguration": {"Cluster": "prod", "APIEndpoint": "https://ecs.user-data.internal"}}"#

    @Test(
        "each override alone, and which one wins when several are set",
        arguments: [
            // (ECS_BACKEND_HOST, ecs.config.json APIEndpoint, user data, AWS_ENDPOINT_URL_ECS, AWS_ENDPOINT_URL, expected host, expected setting)
            (nil, nil, false, nil, nil, "ecs.us-east-1.amazonaws.com", nil),
            ("ecs.env.internal", nil, false, nil, nil, "ecs.env.internal", "ECS_BACKEND_HOST"),
            (nil, "https://ecs.json.internal", false, nil, nil, "ecs.json.internal", "APIEndpoint"),
            (nil, nil, true, nil, nil, "ecs.user-data.internal", "APIEndpoint"),
            (nil, nil, false, "https://ecs.service-url.internal", nil, "ecs.service-url.internal", "AWS_ENDPOINT_URL_ECS"),
            (nil, nil, false, nil, "https://all.internal:8443", "all.internal", "AWS_ENDPOINT_URL"),
            // ECS_BACKEND_HOST (environment) over the JSON file over the user data (agent/config NewConfig, Merge).
            ("ecs.env.internal", "https://ecs.json.internal", true, nil, nil, "ecs.env.internal", "ECS_BACKEND_HOST"),
            (nil, "https://ecs.json.internal", true, nil, nil, "ecs.json.internal", "APIEndpoint"),
            // The agent's APIEndpoint is an SDK load option: it wins over AWS_ENDPOINT_URL_ECS.
            ("ecs.env.internal", nil, false, "https://ecs.service-url.internal", nil, "ecs.env.internal", "ECS_BACKEND_HOST"),
            (nil, nil, true, "https://ecs.service-url.internal", "https://all.internal", "ecs.user-data.internal", "APIEndpoint"),
            // AWS_ENDPOINT_URL_ECS over AWS_ENDPOINT_URL.
            (nil, nil, false, "https://ecs.service-url.internal", "https://all.internal", "ecs.service-url.internal", "AWS_ENDPOINT_URL_ECS"),
        ] as [(String?, String?, Bool, String?, String?, String, String?)]
    )
    func precedence(
        backendHost: String?, jsonEndpoint: String?, withUserData: Bool, serviceURL: String?, globalURL: String?,
        host: String, setting: String?
    ) throws {
        var lines = ["ECS_CLUSTER=prod"]
        if let backendHost { lines.append("ECS_BACKEND_HOST=\(backendHost)") }
        if let serviceURL { lines.append("AWS_ENDPOINT_URL_ECS=\(serviceURL)") }
        if let globalURL { lines.append("AWS_ENDPOINT_URL=\(globalURL)") }
        let files = [("/etc/ecs/ecs.config", AgentConfigText.parse(lines.joined(separator: "\n")).values)]
        let jsonFiles = try jsonEndpoint.map { [try json(#"{"APIEndpoint": "\#($0)"}"#)] } ?? []
        let userData = withUserData ? try AgentJSONConfig.userData(Self.userData) : nil
        let (settings, problems) = AgentConfigText.resolve(files: files, json: jsonFiles, userData: userData)
        #expect(problems.isEmpty, "\(problems)")
        #expect(settings.apiHost.host(instanceRegion: "us-east-1") == host)
        #expect(settings.apiHost.origins.first?.setting == setting)
        #expect(settings.backendHost == backendHost)
    }

    @Test("the origin names the file and line, the JSON file, or the user data")
    func originsSayWhere() throws {
        let (fromFile, _) = AgentConfigText.resolve(files: [ecsConfig("ECS_CLUSTER=a", "# x", "", "AWS_ENDPOINT_URL_ECS=https://x.internal")])
        #expect(fromFile.apiHost.origins.map(\.description) == ["AWS_ENDPOINT_URL_ECS in /etc/ecs/ecs.config line 4"])
        let (fromJSON, _) = AgentConfigText.resolve(files: [], json: [try json(#"{"APIEndpoint":"x.internal"}"#)])
        #expect(fromJSON.apiHost.origins.map(\.description) == ["APIEndpoint in /etc/ecs/ecs.config.json"])
        let (fromUserData, _) = AgentConfigText.resolve(files: [], userData: try AgentJSONConfig.userData(Self.userData))
        #expect(fromUserData.apiHost.origins.map(\.description) == ["ECSAgentConfiguration.APIEndpoint in the instance's user data"])
    }

    @Test("a later ecs.config wins, and an empty ECS_BACKEND_HOST falls through to ecs.config.json")
    func emptyFallsThrough() throws {
        let files = [
            ecsConfig("ECS_BACKEND_HOST=ecs.old.internal", path: "/var/lib/ecs/ecs.config"),
            ecsConfig("ECS_BACKEND_HOST="),
        ]
        let (settings, _) = AgentConfigText.resolve(files: files, json: [try json(#"{"apiendpoint": " ecs.json.internal "}"#)])
        // Go's encoding/json matches keys regardless of case; the agent trims the value after the merge.
        #expect(settings.apiHost.endpoint == "ecs.json.internal")
        #expect(settings.apiHost.origins.first?.source == .ecsConfigJSON)
    }

    @Test("AWS_USE_FIPS_ENDPOINT and AWS_USE_DUALSTACK_ENDPOINT shape the name the SDK builds")
    func fipsAndDualStack() {
        let cases: [([String], String)] = [
            (["AWS_USE_FIPS_ENDPOINT=true"], "ecs-fips.us-east-1.amazonaws.com"),
            (["AWS_USE_FIPS_ENDPOINT=TRUE", "AWS_USE_DUALSTACK_ENDPOINT=true"], "ecs-fips.us-east-1.api.aws"),
            (["AWS_USE_DUALSTACK_ENDPOINT=true"], "ecs.us-east-1.api.aws"),
            (["AWS_USE_FIPS_ENDPOINT=false"], "ecs.us-east-1.amazonaws.com"),
            (["AWS_DEFAULT_REGION=cn-north-1", "AWS_USE_DUALSTACK_ENDPOINT=true"], "ecs.cn-north-1.api.amazonwebservices.com.cn"),
        ]
        for (lines, host) in cases {
            let (settings, problems) = AgentConfigText.resolve(files: [(path: "/etc/ecs/ecs.config", values: AgentConfigText.parse(lines.joined(separator: "\n")).values)])
            #expect(settings.apiHost.host(instanceRegion: "us-east-1") == host, "\(lines)")
            #expect(problems.isEmpty, "\(problems)")
        }
    }

    @Test("FIPS with a custom endpoint is named: the SDK refuses every ECS call")
    func fipsWithCustomEndpoint() {
        let (settings, problems) = AgentConfigText.resolve(files: [ecsConfig("AWS_ENDPOINT_URL_ECS=https://ecs.x.internal", "AWS_USE_FIPS_ENDPOINT=true")])
        #expect(settings.apiHost.endpoint == "https://ecs.x.internal")
        #expect(problems.count == 1)
        #expect(problems.first?.contains("FIPS and custom endpoint are not supported") == true)
        #expect(problems.first?.contains("AWS_USE_FIPS_ENDPOINT in /etc/ecs/ecs.config line 2") == true)

        let (_, bad) = AgentConfigText.resolve(files: [ecsConfig("AWS_USE_FIPS_ENDPOINT=yes")])
        #expect(bad.first?.contains("neither true nor false") == true)
    }

    @Test("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true drops every configured endpoint, APIEndpoint included")
    func ignoreConfiguredEndpoints() {
        let (settings, problems) = AgentConfigText.resolve(files: [ecsConfig("ECS_BACKEND_HOST=ecs.x.internal", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true")])
        #expect(settings.apiHost.endpoint == nil)
        #expect(settings.apiHost.host(instanceRegion: "eu-west-1") == "ecs.eu-west-1.amazonaws.com")
        #expect(problems.first?.contains("ECS_BACKEND_HOST in /etc/ecs/ecs.config line 1") == true)
    }

    @Test("an ecs.config.json that is not JSON names the file and the position, and the agent exiting at start")
    func jsonNotJSON() throws {
        let dir = try TemporaryDirectory()
        try dir.write("ecs.config.json", "{\n  \"Cluster\": \"prod\",\n  \"APIEndpoint\" \"x\"\n}\n")
        let (settings, problems) = AgentSettingsReader(paths: [dir.file("ecs.config.json")]).read()
        #expect(settings.apiHost.endpoint == nil)
        #expect(problems == [
            "\(dir.file("ecs.config.json")): not JSON (line 3, column 17: expected ':'): the agent cannot load its config and exits at start"
        ])
    }

    @Test("an ecs.config.json that is not an object, or has an APIEndpoint that is not a string, is named")
    func jsonNotObject() throws {
        #expect(throws: AgentJSONConfig.Failure(description: "not a JSON object but an array")) { try AgentJSONConfig.file("[1, 2]") }
        #expect(throws: AgentJSONConfig.Failure(description: "APIEndpoint is a number, not a string")) {
            try AgentJSONConfig.file(#"{"APIEndpoint": 443}"#)
        }
        // Empty or blank: no config, as the agent reads it; null is no config either.
        #expect(try AgentJSONConfig.file(" \n") == AgentJSONConfig())
        #expect(try AgentJSONConfig.file("null") == AgentJSONConfig())
        #expect(throws: AgentJSONConfig.Failure.self) { try AgentJSONConfig.file(#"{"a": 1} x"#) }
    }

    @Test("user data that is a shell script, or JSON without ECSAgentConfiguration, is no configuration and no problem")
    func userDataWithoutConfiguration() throws {
        let script = "#!/bin/bash\necho ECS_CLUSTER=prod >> /etc/ecs/ecs.config\n"
        #expect(try AgentJSONConfig.userData(script) == nil)
        #expect(try AgentJSONConfig.userData(#"{"other": {"APIEndpoint": "x"}}"#) == nil)
        let dir = try TemporaryDirectory()
        let (settings, problems) = AgentSettingsReader(paths: [dir.file("missing")]).read(userData: script)
        #expect(problems.isEmpty)
        #expect(settings.apiHost == AgentSettings.APIHost())
    }

    @Test("user data JSON with ECSAgentConfiguration gives its APIEndpoint and AWSRegion; a wrong type drops it")
    func userDataWithConfiguration() throws {
        let config = try AgentJSONConfig.userData(#"{"ECSAgentConfiguration": {"APIEndpoint": "ecs.x.internal", "AWSRegion": "eu-west-1"}}"#)
        #expect(config == AgentJSONConfig(apiEndpoint: "ecs.x.internal", awsRegion: "eu-west-1"))
        let dir = try TemporaryDirectory()
        let (_, problems) = AgentSettingsReader(paths: [dir.file("missing")])
            .read(userData: #"{"ECSAgentConfiguration": {"APIEndpoint": ["x"]}}"#)
        #expect(problems == ["user data: ECSAgentConfiguration.APIEndpoint is an array, not a string: the agent ignores its whole ECSAgentConfiguration"])
    }

    @Test("# lines are not comments to ecs-init: #NAME=value is a harmless variable, a trailing # note is part of the value")
    func hashLines() {
        let (values, problems) = AgentConfigText.parse(
            "# a comment\n#ECS_BACKEND_HOST=ecs.old.internal\nNO_PROXY=169.254.169.254,.amazonaws.com # endpoints\nECS_CLUSTER=a#b\n"
        )
        #expect(values.map(\.name) == ["#ECS_BACKEND_HOST", "NO_PROXY", "ECS_CLUSTER"])
        #expect(values.map(\.value)[1] == "169.254.169.254,.amazonaws.com # endpoints")
        #expect(problems == [
            "line 3: NO_PROXY's value ends in \"# endpoints\", which ecs-init passes on to the agent as part of it (# starts no comment there)"
        ])
        let settings = AgentConfigText.settings(from: [(path: "/etc/ecs/ecs.config", values: values)])
        // "#ECS_BACKEND_HOST" is not ECS_BACKEND_HOST: the agent keeps its default host.
        #expect(settings.backendHost == nil)
        #expect(settings.apiHost.origins.isEmpty)
        // The trailing note spoils the last NO_PROXY entry, so .amazonaws.com is not exempt.
        let proxied = AgentSettings(httpsProxy: "http://proxy:3128", noProxy: settings.noProxy)
        #expect(agentProxy(forHost: "ecs.us-east-1.amazonaws.com", settings: proxied) == "http://proxy:3128")
    }

    @Test("the JSON reader takes escapes and surrogate pairs, and says where a document breaks")
    func jsonReader() throws {
        let config = try AgentJSONConfig.file(#"{"x": [1, -2.5e3, true, null, {}], "APIEndpoint": "ecs\u002e\ud83d\ude00.internal\/"}"#)
        #expect(config.apiEndpoint == "ecs.\u{1F600}.internal/")
        #expect(throws: AgentJSONConfig.Failure(description: "not JSON (line 1, column 6: expected a value)")) {
            try AgentJSONConfig.file(#"{"a":}"#)
        }
        #expect(throws: AgentJSONConfig.Failure(description: "not JSON (line 1, column 2: expected a member name in double quotes)")) {
            try AgentJSONConfig.file("{'a': 1}")
        }
    }

    @Test("user data of the IMDS emulator: none (404) is nil")
    func userDataAbsent() async throws {
        let imds = try await InstanceMetadataEmulator(values: InstanceMetadataEmulator.instance())
        do {
            let client = try InstanceMetadataClient(endpoint: imds.endpoint, requestTimeout: .seconds(3))
            #expect(try await InstanceUserData.fetch(from: client) == nil)
        } catch {
            await imds.stop()
            throw error
        }
        await imds.stop()
    }
}
