// The agent's introspection reply, `GET /v1/metadata` (Sources/ECSVPCD/Agent/AgentIntrospection.swift), and the
// version line in it (AgentVersion). Input: a reply body. Checks: a version read from the line prints and reads back
// the same, alone and in the agent's own format; the fields are the document's.
import ECSVPCCore

func fuzzIntrospectionJSON(_ bytes: [UInt8]) {
    if let metadata = try? AgentIntrospection.metadata(fromJSON: bytes), let line = metadata.version {
        checkVersion(line)
    }
    checkVersion(String(decoding: bytes.prefix(256), as: UTF8.self))
}

private func checkVersion(_ line: String) {
    guard let version = AgentVersion(versionLine: line) else { return }
    precondition(AgentVersion(versionLine: version.description) == version, "\(version) does not read back")
    precondition(AgentVersion(versionLine: "Amazon ECS Agent - v\(version) (a8b3e7d3)") == version,
                 "\(version) does not read back from the agent's own line")
}
