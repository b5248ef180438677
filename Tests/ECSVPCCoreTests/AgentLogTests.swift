import ECSVPCCore
import FoundationEssentials
import Testing

/// Lines exactly as agent 1.105.1 writes them (DESIGN.md, "Facts: the real agent").
private let realLines = [
    #"level=info time=2026-12-07T02:59:40Z msg="Starting Amazon ECS Agent" version="1.105.1" commit="a8b3e7d3""#,
    #"level=debug time=2026-12-07T03:00:58Z msg="Invoking DiscoverPollEndpoint" containerInstanceARN="arn:aws:ecs:us-east-1:123456789012:container-instance/c/0123" availabilityZone="""#,
    #"level=info time=2026-12-07T03:00:58Z msg="Establishing a Websocket connection" url="https://ecs-a-1.us-east-1.amazonaws.com/ws?agentHash=a8b3e7d3&protocolVersion=2&sendCredentials=true&seqNum=1""#,
    #"level=info time=2026-12-07T03:00:58Z msg="Using cached DiscoverPollEndpoint" containerInstanceARN="arn:aws:ecs:us-east-1:123456789012:container-instance/c/0123" endpoint="https://ecs-a-1.us-east-1.amazonaws.com" telemetryEndpoint="https://ecs-t-1.us-east-1.amazonaws.com" serviceConnectEndpoint="https://ecs-sc-1.us-east-1.amazonaws.com" systemLogsEndpoint="""#,
    #"level=info time=2026-12-07T03:00:58Z msg="Websocket connection established." URL="https://ecs-t-1.us-east-1.amazonaws.com/ws?cluster=c&containerInstance=x" ConnectTime="2026-12-07 03:00:58" maxConnectionDuration=31m30.167691084s ExpectedDisconnectTime="2026-12-07 03:30:58""#,
    #"level=warn time=2026-12-07T03:04:30Z msg="ACS WebSocket connection closed" containerInstanceARN="arn:aws:ecs:…" error="context canceled""#,
    #"level=info time=2026-12-07T03:05:56Z msg="Reconnecting to ACS immediately without waiting" containerInstanceARN="arn:aws:ecs:…""#,
]

private func summary(_ lines: [String]) -> AgentLogSummary {
    var summary = AgentLogSummary()
    for (index, line) in lines.enumerated() { summary.add(line: Array(line.utf8), number: index + 1) }
    return summary
}

private func utc(_ text: String) -> Date {
    // Seconds since 1970 of a "YYYY-MM-DDThh:mm:ssZ" test time, computed independently of the parser.
    let parts = text.split(whereSeparator: { "-T:Z".contains($0) }).compactMap { Int($0) }
    var days = 0
    for year in 1970..<parts[0] { days += (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 366 : 365 }
    let leap = parts[0] % 4 == 0 && (parts[0] % 100 != 0 || parts[0] % 400 == 0)
    let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    days += monthDays[0..<(parts[1] - 1)].reduce(0, +) + parts[2] - 1
    return Date(timeIntervalSince1970: Double(days * 86400 + parts[3] * 3600 + parts[4] * 60 + parts[5]))
}

@Suite("Agent log: logfmt lines and the summary")
struct AgentLogTests {
    @Test func readsTheCellHostsOfTheRealAgentsLines() {
        let s = summary(realLines)
        #expect(s.linesRead == realLines.count)
        #expect(s.linesNotParsed == 0)
        #expect(s.firstUnparsedLine == nil)
        #expect(s.cells.map(\.service) == [.ecsAgent, .ecsTelemetry, .serviceConnect])
        #expect(s.cell(.ecsAgent)?.host == "ecs-a-1.us-east-1.amazonaws.com")
        #expect(s.cell(.ecsTelemetry)?.host == "ecs-t-1.us-east-1.amazonaws.com")
        #expect(s.cell(.serviceConnect)?.host == "ecs-sc-1.us-east-1.amazonaws.com")
        #expect(s.cell(.ecsAgent)?.lastSeen == utc("2026-12-07T03:00:58Z"))
        #expect(s.lastAgentStart == utc("2026-12-07T02:59:40Z"))
        #expect(s.agentVersion == "1.105.1")
        #expect(s.lastLineTime == utc("2026-12-07T03:05:56Z"))
    }

    @Test func readsExpectedDisconnectTimeAsUTCAndThePlannedRedialWithItsJitter() {
        let telemetry = summary(realLines).cell(.ecsTelemetry)
        #expect(telemetry?.connectedAt == utc("2026-12-07T03:00:58Z"))
        #expect(telemetry?.expectedDisconnect == utc("2026-12-07T03:30:58Z"))
        let redial = telemetry?.plannedRedial?.timeIntervalSince(utc("2026-12-07T03:00:58Z")) ?? 0
        #expect(abs(redial - (31 * 60 + 30.167691084)) < 0.001)
        // The ACS line here had no "established": no redial known for it.
        #expect(summary(realLines).cell(.ecsAgent)?.expectedDisconnect == nil)
    }

    @Test func aFreshDiscoveryIsAnInvokeNotFollowedByTheFallbackToTheCache() {
        #expect(summary(realLines).lastFreshDiscovery == utc("2026-12-07T03:00:58Z"))
        let failed = [
            #"level=debug time=2026-12-07T03:00:00Z msg="Invoking DiscoverPollEndpoint" containerInstanceARN="a" availabilityZone="""#,
            #"level=info time=2026-12-07T03:00:01Z msg="Using cached DiscoverPollEndpoint" containerInstanceARN="a" endpoint="https://ecs-a-2.us-east-1.amazonaws.com" telemetryEndpoint="" serviceConnectEndpoint="" systemLogsEndpoint="""#,
            #"level=debug time=2026-12-07T15:00:00Z msg="Invoking DiscoverPollEndpoint" containerInstanceARN="a" availabilityZone="""#,
            #"level=info time=2026-12-07T15:00:05Z msg="Error calling DiscoverPollEndpoint. Using cached-but-expired endpoint as a fallback." endpoint="https://ecs-a-2.us-east-1.amazonaws.com" containerInstanceARN="a""#,
        ]
        let s = summary(failed)
        #expect(s.lastFreshDiscovery == utc("2026-12-07T03:00:00Z"))
        #expect(s.cell(.ecsAgent)?.host == "ecs-a-2.us-east-1.amazonaws.com")
        #expect(s.cell(.ecsAgent)?.lastSeen == utc("2026-12-07T15:00:05Z"))
        // Cached answers alone (info level, the default) say nothing of when the cache was filled.
        #expect(summary([failed[1]]).lastFreshDiscovery == nil)
    }

    @Test func aNewHostReplacesTheOldOneAndAStartForgetsTheOldRedials() {
        var lines = realLines
        lines.append(#"level=info time=2026-12-07T04:00:00Z msg="Amazon ECS agent Version: 1.60.0, Commit: abc" module=agent.go"#)
        lines.append(#"level=info time=2026-12-07T04:00:10Z msg="Establishing a Websocket connection" url="https://ecs-a-7.us-east-1.amazonaws.com/ws?seqNum=1""#)
        let s = summary(lines)
        #expect(s.cell(.ecsAgent)?.host == "ecs-a-7.us-east-1.amazonaws.com")
        #expect(s.cell(.ecsTelemetry)?.expectedDisconnect == nil)
        #expect(s.agentVersion == "1.60.0")
        #expect(s.lastAgentStart == utc("2026-12-07T04:00:00Z"))
    }

    @Test func classifiesAWebsocketOfAnUnknownHostByItsQueryAndIgnoresOtherURLs() {
        let s = summary([
            #"level=info time=2026-12-07T03:00:00Z msg="Establishing a Websocket connection" url="https://127.16.0.5:8443/ws?agentHash=x&clusterArn=c&sendCredentials=true&seqNum=1""#,
            #"level=info time=2026-12-07T03:00:00Z msg="Establishing a Websocket connection" url="https://backend.test/ws?agentHash=x&cluster=c&containerInstance=i""#,
            #"level=info time=2026-12-07T03:00:00Z msg="Pulling image" url="https://registry.example.com/v2/""#,
        ])
        #expect(s.cell(.ecsAgent)?.host == "127.16.0.5")
        #expect(s.cell(.ecsTelemetry)?.host == "backend.test")
        #expect(s.cells.count == 2)
    }

    @Test func parsesQuotedValuesWithSpacesAndEscapes() throws {
        let line = try #require(LogfmtLine(Array(#"level=warn msg="say \"hi\" to a\\b\tc \u00e9\x41" error="x y" n=5"#.utf8)))
        #expect(line["msg"] == "say \"hi\" to a\\b\tc éA")
        #expect(line["error"] == "x y")
        #expect(line["n"] == "5")
        #expect(line.fields.first { $0.key == "msg" }?.isVerbatim == false)
        #expect(line.fields.first { $0.key == "error" }?.isVerbatim == true)
        // Go's %+v of a time has spaces: the words go with the bare value before them.
        let connected = try #require(LogfmtLine(Array(#"msg="Connected to ACS endpoint" lastConnectedTime=2026-12-07 03:00:58.1 +0000 UTC"#.utf8)))
        #expect(connected["lastConnectedTime"] == "2026-12-07 03:00:58.1 +0000 UTC")
    }

    @Test func linesThatAreNotLogfmtAreCountedWithTheFirstOnesNumber() {
        let notLogfmt = [
            "2019-01-01T00:00:00Z [INFO] Amazon ECS agent Version: 1.20.0",  // the pre-logfmt format
            #"{"level":"info","msg":"json"}"#,
            #"msg="unterminated"#,
            #"msg="bad escape \q""#,
            #"msg="glued"x=1"#,
            "",
            "hello world",
        ]
        var lines = [realLines[0]] + notLogfmt + [realLines[2]]
        lines.append(String(repeating: "a", count: LogfmtLine.maxLength + 1).replacingFirst("aa", with: "k="))
        let s = summary(lines)
        #expect(s.linesRead == lines.count)
        #expect(s.linesNotParsed == notLogfmt.count + 1)
        #expect(s.firstUnparsedLine == 2)
        #expect(s.cell(.ecsAgent) != nil)
    }

    @Test func binaryLinesAreNotParsedAndNeverCrash() {
        var summary = AgentLogSummary()
        summary.add(line: [0x00, 0x01, 0xFF, 0xFE, 0x6B, 0x3D, 0x76], number: 1)
        summary.add(line: Array("k=\u{7}v".utf8), number: 2)
        summary.add(line: [0x6B, 0x3D, 0xC3], number: 3)  // cut UTF-8
        var generator = SystemRandomNumberGenerator()
        for number in 4...2000 {
            let bytes = (0..<Int.random(in: 0...200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            summary.add(line: bytes, number: number)
        }
        #expect(summary.linesRead == 2000)
        #expect(summary.linesNotParsed >= 3)
        #expect(summary.firstUnparsedLine == 1)
    }

    @Test func aHostWrittenWithEscapesIsNotTaken() {
        let s = summary([#"level=info msg="Establishing a Websocket connection" url="https://ecs-a-\x31.us-east-1.amazonaws.com/ws""#])
        #expect(s.cells.isEmpty)
        #expect(s.linesNotParsed == 0)
    }

    @Test func theSummaryRoundTripsThroughJSON() throws {
        let s = summary(realLines)
        let decoded = try JSONDecoder().decode(AgentLogSummary.self, from: JSONEncoder().encode(s))
        #expect(decoded == s)
    }
}

private extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
