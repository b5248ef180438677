import ECSVPCCore
import Testing

/// One valid value of one key and what it must set.
struct ValidSetting: Sendable, CustomTestStringConvertible {
    let key: String
    let value: String
    let check: @Sendable (Settings) -> Bool
    var testDescription: String { "\(key)=\(value)" }
}

/// One bad value of one key and a fragment of the "expected …" text the error must carry.
struct BadSetting: Sendable, CustomTestStringConvertible {
    let key: String
    let value: String
    let expected: String
    var testDescription: String { "\(key)=\(value)" }
}

private let validSettings: [ValidSetting] = [
    ValidSetting(key: "ECSVPCD_REGION", value: "eu-west-1") { $0.region == "eu-west-1" },
    ValidSetting(key: "ECSVPCD_DNS_SUFFIX", value: "AmazonAWS.com.cn") { $0.dnsSuffix == "amazonaws.com.cn" },
    ValidSetting(key: "ECSVPCD_VPC_CIDRS", value: "10.1.0.0/16, 2600:1f18:abcd::/56") {
        $0.vpcCIDRs == [CIDR("10.1.0.0/16")!, CIDR("2600:1f18:abcd::/56")!]
    },
    ValidSetting(key: "ECSVPCD_ENDPOINT_CIDRS", value: "100.64.0.0/10") { $0.endpointCIDRs == [CIDR("100.64.0.0/10")!] },
    ValidSetting(key: "ECSVPCD_EXTRA_NAMES", value: "ECS-SC.us-east-1.amazonaws.com,logs.us-east-1.amazonaws.com") {
        $0.extraNames == ["ecs-sc.us-east-1.amazonaws.com", "logs.us-east-1.amazonaws.com"]
    },
    ValidSetting(key: "ECSVPCD_SERVICES", value: "auto,secretsmanager") {
        $0.services == ServiceSelection(auto: true, listed: [.secretsManager])
    },
    ValidSetting(key: "ECSVPCD_ECR_ACCOUNTS", value: "123456789012") { $0.ecrAccounts == ["123456789012"] },
    ValidSetting(key: "ECSVPCD_IMDS_ENDPOINT", value: "http://127.54.0.1:8080") { $0.imdsEndpoint == "http://127.54.0.1:8080" },
    ValidSetting(key: "ECSVPCD_RESOLV_CONF", value: "/run/systemd/resolve/resolv.conf") {
        $0.resolvConf == "/run/systemd/resolve/resolv.conf"
    },
    ValidSetting(key: "ECSVPCD_HOSTS_FILE", value: "/srv/hosts") { $0.hostsFile == "/srv/hosts" },
    ValidSetting(key: "ECSVPCD_DNS_SERVERS", value: "10.0.0.2,127.53.0.1:5353,[fd00:ec2::253]:53,fd00:ec2::253") {
        $0.dnsServers == [
            HostPort(address: IPAddress("10.0.0.2")!, port: 53), HostPort(address: IPAddress("127.53.0.1")!, port: 5353),
            HostPort(address: IPAddress("fd00:ec2::253")!, port: 53), HostPort(address: IPAddress("fd00:ec2::253")!, port: 53),
        ]
    },
    ValidSetting(key: "ECSVPCD_AMAZON_DNS", value: "127.53.9.9:10053") {
        $0.amazonDNS == HostPort(address: IPAddress("127.53.9.9")!, port: 10053)
    },
    ValidSetting(key: "ECSVPCD_PROBE_PORT", value: "8443") { $0.probePort == 8443 },
    ValidSetting(key: "ECSVPCD_PROBE_TIMEOUT", value: "500ms") { $0.probeTimeout == .milliseconds(500) },
    ValidSetting(key: "ECSVPCD_INTERVAL", value: "2m") { $0.interval == .seconds(120) },
    ValidSetting(key: "ECSVPCD_STABLE_PROBES", value: "5") { $0.stableProbes == 5 },
    ValidSetting(key: "ECSVPCD_DOCKER_HOST", value: "unix:///run/docker.sock") { $0.dockerHost == "unix:///run/docker.sock" },
    ValidSetting(key: "ECSVPCD_AGENT_CONTAINER", value: "ecs_agent.1") { $0.agentContainer == "ecs_agent.1" },
    ValidSetting(key: "ECSVPCD_AGENT_UNIT", value: "ecs-init.service") { $0.agentUnit == "ecs-init.service" },
    ValidSetting(key: "ECSVPCD_AGENT_INTROSPECTION", value: "http://127.0.0.1:51679") {
        $0.agentIntrospection == "http://127.0.0.1:51679"
    },
    ValidSetting(key: "ECSVPCD_AGENT_CONFIG", value: "/etc/ecs/ecs.config") { $0.agentConfig == ["/etc/ecs/ecs.config"] },
    ValidSetting(key: "ECSVPCD_RESTART", value: "never") { $0.restart == .never },
    ValidSetting(key: "ECSVPCD_RESTART", value: "always") { $0.restart == .always },
    ValidSetting(key: "ECSVPCD_AGENT_LOG", value: "/srv/ecs/agent.log") { $0.agentLog == "/srv/ecs/agent.log" },
    ValidSetting(key: "ECSVPCD_AGENT_LOG", value: "off") { $0.agentLog == nil },
    ValidSetting(key: "ECSVPCD_RESTART_VIA", value: "docker") { $0.restartVia == .docker },
    ValidSetting(key: "ECSVPCD_RESTART_WINDOW", value: "0") { $0.restartWindow == .zero },
    ValidSetting(key: "ECSVPCD_RESTART_COOLDOWN", value: "2h") { $0.restartCooldown == .seconds(7200) },
    ValidSetting(key: "ECSVPCD_RESTART_BUDGET", value: "0") { $0.restartBudget == 0 },
    ValidSetting(key: "ECSVPCD_STATE_DIR", value: "/srv/ecsvpcd") { $0.stateDir == "/srv/ecsvpcd" && $0.stateFile == "/srv/ecsvpcd/state.json" },
    ValidSetting(key: "ECSVPCD_RUNTIME_DIR", value: "/run/x") { $0.runtimeDir == "/run/x" && $0.controlSocket == "/run/x/control.sock" },
    ValidSetting(key: "ECSVPCD_STATUS_GROUP", value: "wheel") { $0.statusGroup == "wheel" },
    ValidSetting(key: "ECSVPCD_LOG", value: "stderr") { $0.log == "stderr" },
    ValidSetting(key: "ECSVPCD_SSM_INVENTORY", value: "off") { $0.ssmInventory == .off },
    ValidSetting(key: "ECSVPCD_SSM_INVENTORY", value: "/srv/ssm") { $0.ssmInventory == .directory("/srv/ssm") },
    ValidSetting(key: "ECSVPCD_METRICS_FILE", value: "/var/lib/node_exporter/ecsvpcd.prom") {
        $0.metricsFile == "/var/lib/node_exporter/ecsvpcd.prom"
    },
]

private let badSettings: [BadSetting] = [
    BadSetting(key: "ECSVPCD_REGION", value: "not a region", expected: "an AWS region code"),
    BadSetting(key: "ECSVPCD_REGION", value: "US-EAST-1", expected: "an AWS region code"),
    BadSetting(key: "ECSVPCD_DNS_SUFFIX", value: "amazonaws..com", expected: "a DNS suffix"),
    BadSetting(key: "ECSVPCD_VPC_CIDRS", value: "10.0.0.0/33", expected: "a comma list of CIDR blocks"),
    BadSetting(key: "ECSVPCD_VPC_CIDRS", value: "10.0.0.0/16,garbage", expected: "a comma list of CIDR blocks"),
    BadSetting(key: "ECSVPCD_ENDPOINT_CIDRS", value: "10/8", expected: "a comma list of CIDR blocks"),
    BadSetting(key: "ECSVPCD_EXTRA_NAMES", value: "ecs.example,not a name", expected: "a comma list of DNS names"),
    BadSetting(key: "ECSVPCD_SERVICES", value: "ecr", expected: "auto, off, or a comma list of ecr.api"),
    BadSetting(key: "ECSVPCD_ECR_ACCOUNTS", value: "1234567890123", expected: "a comma list of 12-digit AWS account ids"),
    BadSetting(key: "ECSVPCD_IMDS_ENDPOINT", value: "169.254.169.254", expected: "an http:// URL"),
    BadSetting(key: "ECSVPCD_IMDS_ENDPOINT", value: "https://169.254.169.254", expected: "an http:// URL"),
    BadSetting(key: "ECSVPCD_IMDS_ENDPOINT", value: "http://169.254.169.254/latest", expected: "an http:// URL"),
    BadSetting(key: "ECSVPCD_IMDS_ENDPOINT", value: "http://169.254.169.254/?x=1", expected: "an http:// URL"),
    BadSetting(key: "ECSVPCD_IMDS_ENDPOINT", value: "http://169.254.169.254?x=1", expected: "an http:// URL"),
    BadSetting(key: "ECSVPCD_IMDS_ENDPOINT", value: "http://user@169.254.169.254", expected: "an http:// URL"),
    BadSetting(key: "ECSVPCD_IMDS_ENDPOINT", value: "http://169.254.169.254:0", expected: "an http:// URL"),
    BadSetting(key: "ECSVPCD_IMDS_ENDPOINT", value: "http://169.254.169.254:99999", expected: "an http:// URL"),
    BadSetting(key: "ECSVPCD_IMDS_ENDPOINT", value: "http://169.254.169.254:http", expected: "an http:// URL"),
    BadSetting(key: "ECSVPCD_IMDS_ENDPOINT", value: "http://fd00:ec2::254", expected: "an http:// URL"),
    BadSetting(key: "ECSVPCD_IMDS_ENDPOINT", value: "http://[fd00:ec2::254", expected: "an http:// URL"),
    BadSetting(key: "ECSVPCD_IMDS_ENDPOINT", value: "http://[169.254.169.254]", expected: "an http:// URL"),
    BadSetting(key: "ECSVPCD_IMDS_ENDPOINT", value: "http://:80", expected: "an http:// URL"),
    BadSetting(key: "ECSVPCD_IMDS_ENDPOINT", value: "http://metadata host", expected: "an http:// URL"),
    BadSetting(key: "ECSVPCD_IMDS_ENDPOINT", value: "tcp://169.254.169.254", expected: "an http:// URL"),
    BadSetting(key: "ECSVPCD_RESOLV_CONF", value: "etc/resolv.conf", expected: "an absolute path"),
    BadSetting(key: "ECSVPCD_HOSTS_FILE", value: "hosts", expected: "an absolute path, or off"),
    BadSetting(key: "ECSVPCD_DNS_SERVERS", value: "10.0.0.2:99999", expected: "a comma list of IP[:PORT]"),
    BadSetting(key: "ECSVPCD_DNS_SERVERS", value: "dns.example", expected: "a comma list of IP[:PORT]"),
    BadSetting(key: "ECSVPCD_DNS_SERVERS", value: "fd00:ec2::253:53:x", expected: "a comma list of IP[:PORT]"),
    BadSetting(key: "ECSVPCD_AMAZON_DNS", value: "no", expected: "IP[:PORT] of the Amazon-provided resolver, or off"),
    BadSetting(key: "ECSVPCD_PROBE_PORT", value: "0", expected: "a TCP port from 1 to 65535"),
    BadSetting(key: "ECSVPCD_PROBE_PORT", value: "65536", expected: "a TCP port from 1 to 65535"),
    BadSetting(key: "ECSVPCD_PROBE_PORT", value: "https", expected: "a TCP port from 1 to 65535"),
    BadSetting(key: "ECSVPCD_PROBE_TIMEOUT", value: "2 seconds", expected: "a duration from 10ms to 60s"),
    BadSetting(key: "ECSVPCD_PROBE_TIMEOUT", value: "5ms", expected: "a duration from 10ms to 60s"),
    BadSetting(key: "ECSVPCD_PROBE_TIMEOUT", value: "2m", expected: "a duration from 10ms to 60s"),
    BadSetting(key: "ECSVPCD_INTERVAL", value: "1.5s", expected: "a duration from 100ms to 1h"),
    BadSetting(key: "ECSVPCD_STABLE_PROBES", value: "0", expected: "a whole number from 1 to 100"),
    BadSetting(key: "ECSVPCD_DOCKER_HOST", value: "tcp://127.0.0.1:2375", expected: "unix:///path/to/docker.sock"),
    BadSetting(key: "ECSVPCD_DOCKER_HOST", value: "unix:///", expected: "unix:///path/to/docker.sock"),
    BadSetting(key: "ECSVPCD_DOCKER_HOST", value: "unix://var/run/docker.sock", expected: "unix:///path/to/docker.sock"),
    BadSetting(key: "ECSVPCD_AGENT_CONTAINER", value: "ecs agent", expected: "a container name"),
    BadSetting(key: "ECSVPCD_AGENT_UNIT", value: "ecs", expected: "a systemd unit name"),
    BadSetting(key: "ECSVPCD_AGENT_INTROSPECTION", value: "127.0.0.1:51678", expected: "an http:// URL"),
    BadSetting(key: "ECSVPCD_AGENT_INTROSPECTION", value: "http://127.0.0.1:51678/v1/metadata", expected: "an http:// URL"),
    BadSetting(key: "ECSVPCD_AGENT_INTROSPECTION", value: "http://127.0.0.1:51678:1", expected: "an http:// URL"),
    BadSetting(key: "ECSVPCD_AGENT_INTROSPECTION", value: "http://::1:51678", expected: "an http:// URL"),
    BadSetting(key: "ECSVPCD_AGENT_CONFIG", value: "/etc/ecs/ecs.config,ecs.config", expected: "a comma list of absolute paths"),
    BadSetting(key: "ECSVPCD_AGENT_LOG", value: "ecs-agent.log", expected: "an absolute path, or off"),
    BadSetting(key: "ECSVPCD_RESTART", value: "yes", expected: "auto, always or never"),
    BadSetting(key: "ECSVPCD_RESTART", value: "Never", expected: "auto, always or never"),
    BadSetting(key: "ECSVPCD_RESTART_VIA", value: "ssh", expected: "auto, systemd or docker"),
    BadSetting(key: "ECSVPCD_RESTART_WINDOW", value: "2d", expected: "a duration up to 24h"),
    BadSetting(key: "ECSVPCD_RESTART_COOLDOWN", value: "8d", expected: "a duration up to 7d"),
    BadSetting(key: "ECSVPCD_RESTART_BUDGET", value: "-1", expected: "restarts per 24 hours, a whole number from 0 to 100"),
    BadSetting(key: "ECSVPCD_STATE_DIR", value: "state", expected: "an absolute path"),
    BadSetting(key: "ECSVPCD_RUNTIME_DIR", value: "./run", expected: "an absolute path"),
    BadSetting(key: "ECSVPCD_STATUS_GROUP", value: "adm staff", expected: "a group name"),
    BadSetting(key: "ECSVPCD_LOG", value: "syslog", expected: "auto, journal or stderr"),
    BadSetting(key: "ECSVPCD_SSM_INVENTORY", value: "yes", expected: "auto, off, or an absolute path"),
    BadSetting(key: "ECSVPCD_METRICS_FILE", value: "/var/lib/node_exporter/ecsvpcd.txt", expected: "an absolute path ending in .prom"),
]

/// Parses `text` as the file `/etc/ecsvpcd/ecsvpcd.conf`, expecting a `ConfigurationError`.
private func error(
    file text: String?,
    environment: [String: String] = [:]
) -> ConfigurationError? {
    do {
        _ = try SettingsParser.parse(file: text.map { (path: "/etc/ecsvpcd/ecsvpcd.conf", text: $0) }, environment: environment)
        return nil
    } catch {
        return error
    }
}

@Suite("Settings parser")
struct SettingsParserTests {
    @Test("every key has its documented default when neither the file nor the environment sets it")
    func defaults() throws {
        let settings = try SettingsParser.parse(file: nil, environment: [:])
        #expect(settings.region == nil)
        #expect(settings.dnsSuffix == nil)
        #expect(settings.vpcCIDRs == nil)
        #expect(settings.endpointCIDRs.map(\.description)
            == ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"])
        #expect(settings.extraNames.isEmpty)
        #expect(settings.imdsEndpoint == "http://169.254.169.254")
        #expect(settings.resolvConf == "/etc/resolv.conf")
        #expect(settings.hostsFile == "/etc/hosts")
        #expect(settings.dnsServers == nil)
        #expect(settings.amazonDNS == HostPort(address: IPAddress("169.254.169.253")!, port: 53))
        #expect(settings.probePort == 443)
        #expect(settings.probeTimeout == .seconds(2))
        #expect(settings.interval == .seconds(30))
        #expect(settings.stableProbes == 3)
        #expect(settings.dockerHost == "unix:///var/run/docker.sock")
        #expect(settings.agentContainer == "ecs-agent")
        #expect(settings.agentUnit == "ecs.service")
        #expect(settings.agentIntrospection == "http://127.0.0.1:51678")
        #expect(settings.agentConfig == ["/var/lib/ecs/ecs.config", "/etc/ecs/ecs.config", "/etc/ecs/ecs.config.json"])
        #expect(settings.restart == .auto)
        #expect(settings.restartVia == .auto)
        #expect(settings.restartWindow == .seconds(600))
        #expect(settings.restartCooldown == .seconds(3600))
        #expect(settings.restartBudget == 3)
        #expect(settings.stateDir == "/var/lib/ecsvpcd")
        #expect(settings.runtimeDir == "/run/ecsvpcd")
        #expect(settings.controlSocket == "/run/ecsvpcd/control.sock")
        #expect(settings.statusGroup == "adm")
        #expect(settings.log == "auto")
        #expect(Settings.defaultPath == "/etc/ecsvpcd/ecsvpcd.conf")
    }

    @Test("the table of valid values covers every key the parser knows")
    func everyKeyCovered() {
        let known = Set(SettingsParser.keys.map(\.name))
        #expect(Set(validSettings.map(\.key)) == known)
        #expect(known.isSubset(of: Set(badSettings.map(\.key))))
        #expect(SettingsParser.keys.allSatisfy { !$0.expected.isEmpty && !$0.defaultText.isEmpty })
    }

    @Test("a valid value in the file sets the key", arguments: validSettings)
    func validInFile(_ setting: ValidSetting) throws {
        let settings = try SettingsParser.parse(
            file: (path: "/etc/ecsvpcd/ecsvpcd.conf", text: "# ecsvpcd\n\n  \(setting.key) = \(setting.value)  \n"),
            environment: [:]
        )
        #expect(setting.check(settings))
        #expect(!setting.check(Settings()), "the value under test must differ from the default")
    }

    @Test("a valid value in the environment sets the key", arguments: validSettings)
    func validInEnvironment(_ setting: ValidSetting) throws {
        let settings = try SettingsParser.parse(file: nil, environment: [setting.key: setting.value])
        #expect(setting.check(settings))
    }

    @Test("a bad value names the file, the line, the key, the value and what was expected", arguments: badSettings)
    func badValueInFile(_ setting: BadSetting) throws {
        let other = setting.key == "ECSVPCD_STATUS_GROUP" ? "ECSVPCD_LOG=auto" : "ECSVPCD_STATUS_GROUP=adm"
        let failure = try #require(error(file: "# first line\n\(other)\n\(setting.key)=\(setting.value)\n"))
        #expect(failure.code == .badValue)
        #expect(failure.source == "/etc/ecsvpcd/ecsvpcd.conf")
        #expect(failure.line == 3)
        #expect(failure.key == setting.key)
        #expect(failure.detail.contains("\"\(setting.value)\""))
        #expect(failure.detail.contains("expected \(setting.expected)"))
        #expect(failure.description.hasPrefix("/etc/ecsvpcd/ecsvpcd.conf:3: bad value \(setting.key): "))
    }

    @Test("a bad value in the environment names the environment, not a file line", arguments: badSettings)
    func badValueInEnvironment(_ setting: BadSetting) throws {
        let failure = try #require(error(file: "ECSVPCD_LOG=stderr\n", environment: [setting.key: setting.value]))
        #expect(failure.code == .badValue)
        #expect(failure.source == "environment")
        #expect(failure.line == nil)
        #expect(failure.key == setting.key)
        #expect(failure.detail.contains("expected \(setting.expected)"))
        #expect(failure.description.hasPrefix("environment: bad value \(setting.key): "))
    }

    @Test("an unknown key is an error that suggests the key that was meant")
    func unknownKeySuggests() throws {
        let lowercase = try #require(error(file: "ECSVPCD_PROBE_PORT=443\necsvpcd_region=us-east-1\n"))
        #expect(lowercase.code == .unknownKey)
        #expect(lowercase.line == 2)
        #expect(lowercase.key == "ecsvpcd_region")
        #expect(lowercase.detail.contains("did you mean ECSVPCD_REGION?"))
        #expect(lowercase.description.hasPrefix("/etc/ecsvpcd/ecsvpcd.conf:2: unknown key ecsvpcd_region: "))

        let withoutPrefix = try #require(error(file: "PROBE_TIMEOUT=3s\n"))
        #expect(withoutPrefix.code == .unknownKey)
        #expect(withoutPrefix.detail.contains("did you mean ECSVPCD_PROBE_TIMEOUT?"))

        let unrelated = try #require(error(file: "\n\nFOO=bar\n"))
        #expect(unrelated.line == 3)
        #expect(unrelated.key == "FOO")
        #expect(unrelated.detail.contains("see the README for the list of keys"))

        // Only keys within the allowed edits by length are measured (found by fuzz/run settings, where a long line
        // cost a full edit distance against every key): the suggestions stay what they were.
        let typo = try #require(error(file: "ECSVPCD_INTERVL=30s\n"))
        #expect(typo.detail.contains("did you mean ECSVPCD_INTERVAL?"))
        let long = try #require(error(file: "ECSVPCD_" + String(repeating: "X", count: 5000) + "=1\n"))
        #expect(long.code == .unknownKey)
        #expect(long.detail.contains("see the README for the list of keys"))
        #expect(SettingsParser.environmentWarnings(["ECSVPCD_STABLE_PROBE": "3"]).first?.detail.contains("ECSVPCD_STABLE_PROBES") == true)
    }

    @Test(
        "a URL value the HTTP client would refuse says why, besides the form expected",
        arguments: [
            ("ECSVPCD_IMDS_ENDPOINT", "http://169.254.169.254/latest/", "no path, query or user"),
            ("ECSVPCD_IMDS_ENDPOINT", "http://fd00:ec2::254", "IPv6 hosts need brackets"),
            ("ECSVPCD_AGENT_INTROSPECTION", "http://127.0.0.1:65536", "port \"65536\" is not 1-65535"),
            ("ECSVPCD_AGENT_INTROSPECTION", "127.0.0.1:51678", "it does not start with http://"),
            ("ECSVPCD_DOCKER_HOST", "unix:///", "no socket path after unix://"),
        ]
    )
    func badURLSaysWhy(key: String, value: String, reason: String) throws {
        let failure = try #require(error(file: "# urls\n\(key)=\(value)\n"))
        #expect(failure.code == .badValue)
        #expect(failure.key == key)
        #expect(failure.line == 2)
        #expect(failure.detail.contains(reason), "\(failure)")
    }

    @Test(
        "URLs the HTTP client can use are accepted",
        arguments: [
            ("ECSVPCD_IMDS_ENDPOINT", "http://127.0.0.1:8080"),
            ("ECSVPCD_IMDS_ENDPOINT", "http://[::1]:80"),
            ("ECSVPCD_IMDS_ENDPOINT", "http://[fd00:ec2::254]"),
            ("ECSVPCD_IMDS_ENDPOINT", "http://169.254.169.254/"),
            ("ECSVPCD_AGENT_INTROSPECTION", "http://localhost:51678"),
            ("ECSVPCD_DOCKER_HOST", "unix:///var/run/docker.sock"),
        ]
    )
    func goodURLs(key: String, value: String) throws {
        let settings = try SettingsParser.parse(file: (path: "/c", text: "\(key)=\(value)\n"), environment: [:])
        #expect([settings.imdsEndpoint, settings.agentIntrospection, settings.dockerHost].contains(value))
        #expect(try SettingsParser.parse(file: nil, environment: [key: value]) == settings)
    }

    @Test("a CRLF file is read line by line: a leading comment does not swallow the keys after it")
    func crlfFile() throws {
        let settings = try SettingsParser.parse(
            file: (path: "/c", text: "# ecsvpcd\r\nECSVPCD_RESTART=never\r\n\r\nECSVPCD_RESOLV_CONF=/x\r\nECSVPCD_LOG=stderr"),
            environment: [:]
        )
        #expect(settings.restart == .never)
        #expect(settings.resolvConf == "/x")
        #expect(settings.log == "stderr")

        let noComment = try SettingsParser.parse(
            file: (path: "/c", text: "ECSVPCD_RESOLV_CONF=/x\r\nECSVPCD_RESTART=never\r\n"), environment: [:])
        #expect(noComment.resolvConf == "/x")
        #expect(noComment.restart == .never)
    }

    @Test("an error in a CRLF file (or one mixing CRLF and LF) names the right line")
    func crlfLineNumbers() throws {
        let failure = try #require(error(file: "# c\r\n\r\nECSVPCD_REGION=us-east-1\nECSVPCD_PROBE_PORT=https\r\n"))
        #expect(failure.code == .badValue)
        #expect(failure.line == 4)
        #expect(failure.key == "ECSVPCD_PROBE_PORT")
        #expect(failure.detail.contains("\"https\""))

        let duplicate = try #require(error(file: "ECSVPCD_LOG=auto\r\n# again\r\nECSVPCD_LOG=stderr\r\n"))
        #expect(duplicate.code == .duplicateKey)
        #expect(duplicate.line == 3)
        #expect(duplicate.detail.contains("line 1"))
    }

    @Test("a leading UTF-8 byte order mark is skipped")
    func byteOrderMark() throws {
        let settings = try SettingsParser.parse(file: (path: "/c", text: "\u{FEFF}ECSVPCD_RESTART=never\n"), environment: [:])
        #expect(settings.restart == .never)
        let windows = try SettingsParser.parse(
            file: (path: "/c", text: "\u{FEFF}# notepad\r\nECSVPCD_RESTART=never\r\n"), environment: [:])
        #expect(windows.restart == .never)
    }

    @Test("a line with nothing before = says the key is empty and suggests no key")
    func emptyKey() throws {
        for text in ["ECSVPCD_LOG=auto\n=x\n", "ECSVPCD_LOG=auto\r\n  = x\r\n"] {
            let failure = try #require(error(file: text))
            #expect(failure.code == .syntax)
            #expect(failure.line == 2)
            #expect(failure.detail.contains("key before = is empty"))
            #expect(!failure.detail.contains("did you mean"))
        }
    }

    @Test("an unknown ECSVPCD_ variable in the environment is a warning with a suggestion, not an error")
    func unknownEnvironmentVariable() throws {
        let environment = [
            "ECSVPCD_RESTRAT": "never", "ECSVPCD_RESTART": "auto", "ECSVPCD_SKIP_SYSTEM_TEST": "1", "PATH": "/usr/bin",
        ]
        let settings = try SettingsParser.parse(file: nil, environment: environment)
        #expect(settings.restart == .auto)
        let warnings = SettingsParser.environmentWarnings(environment)
        // ECSVPCD_SKIP_SYSTEM_TEST is far from every key: a script's own variable, not a typo.
        #expect(warnings.map(\.key) == ["ECSVPCD_RESTRAT"])
        let typo = try #require(warnings.first)
        #expect(typo.code == .unknownKey)
        #expect(typo.source == "environment")
        #expect(typo.line == nil)
        #expect(typo.detail.contains("did you mean ECSVPCD_RESTART?"))
        #expect(typo.description.hasPrefix("environment: unknown key ECSVPCD_RESTRAT: "))
        #expect(SettingsParser.environmentWarnings(["ECSVPCD_LOG": "stderr", "HOME": "/root"]).isEmpty)
        #expect(SettingsParser.environmentWarnings(["ECSVPCD_TEST_RUN_DIR": "/tmp/x", "ECSVPCD_TEST_DOCKER_HOST": "unix:///x"]).isEmpty)
        #expect(SettingsParser.environmentWarnings(["ecsvpcd_restart": "never"]).map(\.detail)
            == ["not a setting of ecsvpcd, so it is ignored; did you mean ECSVPCD_RESTART?"])
    }

    @Test("an AWS_EC2_METADATA_SERVICE_ENDPOINT the HTTP client cannot use is an error naming it, unless overridden")
    func badFallbackEndpoint() throws {
        let environment = ["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://169.254.169.254/latest/"]
        let failure = try #require(error(file: nil, environment: environment))
        #expect(failure.code == .badValue)
        #expect(failure.source == "environment")
        #expect(failure.key == "AWS_EC2_METADATA_SERVICE_ENDPOINT")
        #expect(failure.detail.contains("\"http://169.254.169.254/latest/\""))
        #expect(failure.detail.contains("ECSVPCD_IMDS_ENDPOINT"))

        let overridden = try SettingsParser.parse(
            file: (path: "/c", text: "ECSVPCD_IMDS_ENDPOINT=http://127.54.0.10\n"), environment: environment)
        #expect(overridden.imdsEndpoint == "http://127.54.0.10")
    }

    @Test("a key set twice is an error naming both lines")
    func duplicateKey() throws {
        let failure = try #require(error(file: "ECSVPCD_REGION=us-east-1\n# again\nECSVPCD_REGION=us-west-2\n"))
        #expect(failure.code == .duplicateKey)
        #expect(failure.line == 3)
        #expect(failure.key == "ECSVPCD_REGION")
        #expect(failure.detail.contains("line 1"))
        #expect(failure.description.hasPrefix("/etc/ecsvpcd/ecsvpcd.conf:3: duplicate key ECSVPCD_REGION: "))
    }

    @Test("a line without = is a syntax error that quotes the line")
    func missingEquals() throws {
        let failure = try #require(error(file: "ECSVPCD_REGION=us-east-1\nECSVPCD_PROBE_PORT 443\n"))
        #expect(failure.code == .syntax)
        #expect(failure.line == 2)
        #expect(failure.detail.contains("expected KEY=VALUE"))
        #expect(failure.detail.contains("ECSVPCD_PROBE_PORT 443"))
        #expect(failure.description.hasPrefix("/etc/ecsvpcd/ecsvpcd.conf:2: syntax error: "))
    }

    @Test("comments, blank lines, spaces around = and quotes are allowed; an empty value keeps the default")
    func fileSyntax() throws {
        let settings = try SettingsParser.parse(
            file: (path: "/c", text: "# comment\n   # indented comment\n\nECSVPCD_REGION = \"eu-central-1\"\nECSVPCD_LOG='journal'\nECSVPCD_PROBE_PORT=\n"),
            environment: [:]
        )
        #expect(settings.region == "eu-central-1")
        #expect(settings.log == "journal")
        #expect(settings.probePort == 443)
    }

    @Test("the environment wins over the file")
    func environmentWins() throws {
        let settings = try SettingsParser.parse(
            file: (path: "/c", text: "ECSVPCD_REGION=us-east-1\nECSVPCD_PROBE_PORT=8443\n"),
            environment: ["ECSVPCD_REGION": "ap-south-1", "UNRELATED": "x"]
        )
        #expect(settings.region == "ap-south-1")
        #expect(settings.probePort == 8443)
    }

    @Test("other tools' variables set defaults, and the ECSVPCD_ keys still win over them")
    func fallbackEnvironment() throws {
        let fallback = [
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.54.0.9",
            "DOCKER_HOST": "unix:///srv/docker.sock",
            "STATE_DIRECTORY": "/var/lib/ecsvpcd-a:/var/lib/other",
            "RUNTIME_DIRECTORY": "/run/ecsvpcd-a",
        ]
        let settings = try SettingsParser.parse(file: nil, environment: fallback)
        #expect(settings.imdsEndpoint == "http://127.54.0.9")
        #expect(settings.dockerHost == "unix:///srv/docker.sock")
        #expect(settings.stateDir == "/var/lib/ecsvpcd-a")
        #expect(settings.runtimeDir == "/run/ecsvpcd-a")

        let overridden = try SettingsParser.parse(
            file: (path: "/c", text: "ECSVPCD_IMDS_ENDPOINT=http://127.54.0.10\n"),
            environment: fallback
        )
        #expect(overridden.imdsEndpoint == "http://127.54.0.10")
    }

    @Test("off turns the hosts file and the Amazon resolver comparison off")
    func offValues() throws {
        let settings = try SettingsParser.parse(
            file: (path: "/c", text: "ECSVPCD_HOSTS_FILE=off\nECSVPCD_AMAZON_DNS=off\n"), environment: [:])
        #expect(settings.hostsFile == nil)
        #expect(settings.amazonDNS == nil)
        let fromEnvironment = try SettingsParser.parse(file: nil, environment: ["ECSVPCD_AMAZON_DNS": "off"])
        #expect(fromEnvironment.amazonDNS == nil)
    }

    @Test("durations parse with and without units", arguments: [
        ("30s", Duration.seconds(30)), ("10m", .seconds(600)), ("1h", .seconds(3600)), ("500ms", .milliseconds(500)),
        ("1d", .seconds(86400)), ("45", .seconds(45)), ("0", .zero),
    ])
    func durationParse(_ text: String, _ expected: Duration) {
        #expect(DurationText.parse(text) == expected)
    }

    @Test("malformed durations are rejected", arguments: ["", "s", "1.5s", "-1s", "10 s", "1w", "ten", "5sec", "1h30m"])
    func durationRejects(_ text: String) {
        #expect(DurationText.parse(text) == nil)
    }

    @Test("durations format short for status lines", arguments: [
        (Duration.milliseconds(500), "500ms"), (.seconds(45), "45s"), (.seconds(90), "90s"), (.seconds(150), "2m30s"),
        (.seconds(600), "10m"), (.seconds(7200), "2h"), (.seconds(9000), "2h30m"),
    ])
    func durationFormat(_ duration: Duration, _ expected: String) {
        #expect(DurationText.format(duration) == expected)
    }

    @Test("keeping the good keys: every line in error is passed over and reported, the rest applies")
    func keepingGoodKeys() throws {
        let text = """
            ECSVPCD_PROBE_PORT=8443
            ECSVPCD_INTERVAL=forever
            no equals sign here
            ECSVPCD_RESTRAT=never
            ECSVPCD_RUNTIME_DIR=/run/custom
            ECSVPCD_PROBE_PORT=9443
            =value
            ECSVPCD_STATUS_GROUP=ops

            """
        let file = (path: "/etc/ecsvpcd/ecsvpcd.conf", text: text)
        let (settings, problems) = SettingsParser.parseKeepingGoodKeys(
            file: file, environment: ["ECSVPCD_RESTART_BUDGET": "many", "ECSVPCD_LOG": "stderr"])
        #expect(settings.probePort == 8443)
        #expect(settings.runtimeDir == "/run/custom")
        #expect(settings.controlSocket == "/run/custom/control.sock")
        #expect(settings.statusGroup == "ops")
        #expect(settings.interval == Settings().interval, "a bad value leaves the default")
        #expect(settings.restartBudget == Settings().restartBudget)
        #expect(problems.map(\.code) == [.badValue, .syntax, .unknownKey, .duplicateKey, .syntax, .badValue])
        #expect(problems.map(\.line) == [2, 3, 4, 6, 7, nil])
        #expect(problems.last?.source == "environment")
        #expect(problems.last?.key == "ECSVPCD_RESTART_BUDGET")
        // The strict parse stops at the first of them, with the same error.
        #expect(throws: problems[0]) { try SettingsParser.parse(file: file, environment: [:]) }
    }

    @Test("keeping the good keys of a clean file reports nothing and equals the strict parse")
    func keepingGoodKeysClean() throws {
        let file = (path: "/c", text: "ECSVPCD_PROBE_PORT=8443\nECSVPCD_RESTART=never\n")
        let (settings, problems) = SettingsParser.parseKeepingGoodKeys(file: file, environment: ["STATE_DIRECTORY": "/s"])
        #expect(problems.isEmpty)
        #expect(settings == (try SettingsParser.parse(file: file, environment: ["STATE_DIRECTORY": "/s"])))
    }

    @Test("a bad AWS_EC2_METADATA_SERVICE_ENDPOINT still lets the other fallbacks of the environment apply")
    func keepingGoodKeysFallbacks() {
        let (settings, problems) = SettingsParser.parseKeepingGoodKeys(
            file: nil, environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": "ftp://x", "STATE_DIRECTORY": "/var/lib/s"])
        #expect(settings.stateDir == "/var/lib/s")
        #expect(problems.map(\.key) == ["AWS_EC2_METADATA_SERVICE_ENDPOINT"])
    }
}
