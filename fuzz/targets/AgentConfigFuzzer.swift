// The agent's ecs.config (AgentConfigText in Sources/ECSVPCD/Agent/ProxyExemption.swift), as ecs-init reads it.
// Input: the file's text. Checks: every variable is on a line that exists and is verbatim in it; written back as
// NAME=VALUE lines, the variables read back the same (a round trip); the merged settings only hold values read.
import ECSVPCCore

func fuzzAgentConfig(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
    let (values, problems) = AgentConfigText.parse(text)
    precondition(values.count + problems.count <= lines.count * 3, "more findings than lines")
    for (name, value, line) in values {
        precondition((1...lines.count).contains(line), "a variable on line \(line) of \(lines.count)")
        precondition(lines[line - 1].contains(name + "=" + value), "line \(line) does not hold \(name)=\(value)")
        precondition(!name.isEmpty && !name.contains("="), "a bad name: \(name)")
    }
    let written = values.map { "\($0.name)=\($0.value)" }.joined(separator: "\n")
    let again = AgentConfigText.parse(written).values
    precondition(again.map(\.name) == values.map(\.name) && again.map(\.value) == values.map(\.value),
                 "a round trip changed the variables")
    let settings = AgentConfigText.settings(from: [(path: "/etc/ecs/ecs.config", values: values)])
    let all = Set(values.map(\.value))
    for value in [settings.httpsProxy, settings.httpProxy, settings.noProxy, settings.backendHost].compactMap({ $0 }) {
        precondition(all.contains(value), "a setting that no line set: \(value)")
    }
    // NO_PROXY is matched against every ECS host: any text must do, and quickly.
    if let noProxy = settings.noProxy {
        _ = NoProxyList(noProxy).exempts(host: "ecs-a.us-east-1.amazonaws.com", port: 443)
    }
}
