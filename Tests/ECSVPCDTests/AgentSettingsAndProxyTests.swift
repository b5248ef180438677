import ECSVPCCore
import Logging
import Testing

@testable import ECSVPCD

@Suite("Agent settings and NO_PROXY")
struct AgentSettingsAndProxyTests {
    let host = "ecs.us-east-1.amazonaws.com"

    @Test(
        "NO_PROXY follows Go's httpproxy rules for https://ecs.us-east-1.amazonaws.com",
        arguments: [
            (nil, true),
            ("", true),
            ("*", false),
            ("amazonaws.com", false),
            (".amazonaws.com", false),
            ("*.amazonaws.com", false),
            ("ecs.us-east-1.amazonaws.com", false),
            (".ecs.us-east-1.amazonaws.com", true),  // a leading dot: subdomains only
            ("ecs.us-east-1.amazonaws.com:443", false),
            ("amazonaws.com:80", true),
            ("mazonaws.com", true),
            (" AmazonAWS.com ", false),
            ("169.254.169.254,169.254.170.2,/var/run/docker.sock", true),
            ("10.0.0.0/8", true),  // CIDRs only match IP-literal hosts, never resolved names
            ("foo.example, amazonaws.com", false),
            ("[::1]:443,s3.amazonaws.com", true),
        ] as [(String?, Bool)]
    )
    func noProxyTable(noProxy: String?, proxied: Bool) {
        let settings = AgentSettings(httpsProxy: "http://proxy.internal:3128", noProxy: noProxy)
        #expect(
            proxyApplies(to: host, resolvedAddresses: [IPAddress("10.0.1.5")!], settings: settings) == proxied,
            "NO_PROXY=\(noProxy ?? "(unset)")"
        )
    }

    @Test("HTTPS_PROXY wins, HTTP_PROXY is the fallback for https, none means direct")
    func whichProxy() {
        #expect(agentProxy(forHost: host, settings: AgentSettings()) == nil)
        #expect(agentProxy(forHost: host, settings: AgentSettings(httpProxy: "10.0.0.131:3128")) == "10.0.0.131:3128")
        #expect(
            agentProxy(forHost: host, settings: AgentSettings(httpsProxy: "http://a:1", httpProxy: "http://b:2")) == "http://a:1"
        )
    }

    @Test(
        "IP-literal hosts match IP, CIDR and port entries; loopback and localhost are never proxied",
        arguments: [
            ("10.0.1.5", "10.0.0.0/8", false),
            ("10.0.1.5", "10.0.1.5", false),
            ("10.0.1.5", "10.0.1.5:443", false),
            ("10.0.1.5", "10.0.1.5:8443", true),
            ("10.0.1.5", "10.0.1.6", true),
            ("fd00::1", "[fd00::1]:443", false),
            ("fd00::1", "fd00::/8", false),
            ("127.0.0.1", "", false),
            ("localhost", "", false),
        ]
    )
    func ipHosts(host: String, noProxy: String, proxied: Bool) {
        let settings = AgentSettings(httpsProxy: "http://proxy:3128", noProxy: noProxy)
        #expect(proxyApplies(to: host, resolvedAddresses: [], settings: settings) == proxied, "\(host) NO_PROXY=\(noProxy)")
    }

    @Test("ecs.config lines as ecs-init hands them to the agent: verbatim after the first =, quotes and export named")
    func parsesConfigText() {
        let (values, problems) = AgentConfigText.parse(
            """
            # proxy for the agent
            ECS_CLUSTER=prod
            HTTPS_PROXY="http://proxy:3128"
              export NO_PROXY='169.254.169.254,.amazonaws.com'
            this is not a setting
            ECS-BAD=1
            HTTP_PROXY = http://other:3128
            ECS_RESERVED_MEMORY=a=b

            """
        )
        // ecs-init: TrimSpace(line), SplitN(line, "=", 2), name and value verbatim.
        #expect(values.map(\.0) == ["ECS_CLUSTER", "HTTPS_PROXY", "ECS_RESERVED_MEMORY"])
        #expect(values.map(\.1) == ["prod", "\"http://proxy:3128\"", "a=b"])
        #expect(problems == [
            "line 3: HTTPS_PROXY's value is in quotes, which ecs-init passes on to the agent as part of it",
            "line 4: \"export\" is not understood: the agent gets no NO_PROXY",
            "line 5: expected NAME=VALUE (ecs-init skips this line)",
            "line 6: \"ECS-BAD\" is not a variable name",
            "line 7: a space before \"=\": the agent gets no HTTP_PROXY",
        ])
    }

    @Test("a quoted NO_PROXY does not exempt the ECS names, as the agent gets the quotes")
    func quotedNoProxyDoesNotExempt() {
        let (values, _) = AgentConfigText.parse(
            "HTTPS_PROXY=http://proxy:3128\nNO_PROXY=\"169.254.169.254,.amazonaws.com\"\n"
        )
        let settings = AgentConfigText.settings(from: [(path: "/etc/ecs/ecs.config", values: values)])
        #expect(agentProxy(forHost: host, settings: settings) == "http://proxy:3128")
    }

    @Test("a CRLF ecs.config (byte order mark, a comment first) still shows its proxy, and bad lines keep their number")
    func crlfConfigText() throws {
        let dir = try TemporaryDirectory()
        try dir.write("ecs.config", "\u{FEFF}# proxy\r\nECS_CLUSTER=prod\r\nHTTP_PROXY=10.0.0.131:3128\r\n\r\nnot a setting\r\n")
        let (settings, problems) = AgentSettingsReader(paths: [dir.file("ecs.config")]).read()
        #expect(settings.httpProxy == "10.0.0.131:3128")
        #expect(agentProxy(forHost: host, settings: settings) == "10.0.0.131:3128")
        // The byte order mark is part of the first line for ecs-init too: that line is skipped, like a comment.
        #expect(problems == [
            "\(dir.file("ecs.config")): line 1: expected NAME=VALUE (ecs-init skips this line)",
            "\(dir.file("ecs.config")): line 5: expected NAME=VALUE (ecs-init skips this line)",
        ])

        let (values, _) = AgentConfigText.parse("HTTPS_PROXY=http://proxy:3128\r\nNO_PROXY=169.254.169.254\r\n")
        #expect(values.map(\.0) == ["HTTPS_PROXY", "NO_PROXY"])
        #expect(values.map(\.1) == ["http://proxy:3128", "169.254.169.254"])
    }

    @Test("reads the files in order, later wins, missing skipped, unreadable named")
    func readsFiles() throws {
        let dir = try TemporaryDirectory()
        try dir.write("a.config", "HTTP_PROXY=http://old:1\nNO_PROXY=x\nECS_BACKEND_HOST=https://ecs.example\n")
        try dir.write("b.config", "HTTP_PROXY=http://new:2\nNO_PROXY=\nhttps_proxy=http://lower:3\n")
        let reader = AgentSettingsReader(paths: [dir.file("a.config"), dir.file("missing.config"), dir.file("b.config"), dir.path])
        let (settings, problems) = reader.read()
        #expect(settings.httpProxy == "http://new:2")
        #expect(settings.httpsProxy == "http://lower:3")
        #expect(settings.noProxy == nil)  // emptied by the later file
        #expect(settings.backendHost == "https://ecs.example")
        #expect(settings.sources == [dir.file("a.config"), dir.file("b.config")])
        #expect(problems.count == 1)
        #expect(problems.first?.contains(dir.path) == true)
        #expect(problems.first?.contains("Is a directory") == true)
    }
}

@Suite("Agent settings problems in the journal")
struct AgentSettingsLoggingTests {
    @Test("a bad line in the agent's config is logged once while it stays, and once when it is gone")
    func settingsProblemLoggedOnce() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("ecs.config", "ECS_CLUSTER=sandbox\nthis line has no equals sign\n")
        let sink = CapturingLogHandler.LogSink()
        let docker = DockerEngine(target: .unix(path: directory.file("no-docker.sock")))
        let observer = AgentObserver(
            container: "ecs-agent", docker: docker,
            introspection: AgentIntrospection(target: .tcp(host: "127.0.0.1", port: 1)),
            settings: AgentSettingsReader(paths: [directory.file("ecs.config")]),
            supervisor: AgentSupervisor(via: .docker, docker: docker),
            logger: Logger(label: "test") { _ in CapturingLogHandler(sink: sink) }
        )
        let settingsLines = { sink.all.map(\.message).filter { $0.hasPrefix("agent settings:") } }
        for _ in 0..<3 { _ = await observer.observe() }
        #expect(settingsLines().count == 1, "\(settingsLines())")
        #expect(settingsLines().first?.contains("line 2") == true, "\(settingsLines())")

        try directory.write("ecs.config", "ECS_CLUSTER=sandbox\n")
        for _ in 0..<2 { _ = await observer.observe() }
        #expect(settingsLines().count == 2, "\(settingsLines())")
        #expect(settingsLines().last == "agent settings: no problem any more")
    }
}
