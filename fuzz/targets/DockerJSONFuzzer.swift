// The Docker Engine API's JSON (Sources/ECSVPCD/Agent/DockerEngine.swift): container inspect and API versions.
// Input: a reply body. Checks: an inspect that reads gives a stopped container pid 0, a name without "/", and
// the StartedAt it was given; a /version reply gives a version the client speaks; an error names the request;
// versions print and read back the same.
import ECSVPCCore
import FoundationEssentials

func fuzzDockerJSON(_ bytes: [UInt8]) {
    let context = "unix:///var/run/docker.sock: GET /v1.43/containers/ecs-agent/json"
    do throws(AgentError) {
        let (container, setup) = try DockerEngine.inspected(fromInspect: bytes, context: context)
        precondition(container.running || container.pid == 0, "a stopped container with pid \(container.pid)")
        precondition(!setup.name.hasPrefix("/"), "a name with its leading slash: \(setup.name)")
        precondition(setup.image == container.image)
        if let started = container.startedAt {
            precondition(started.timeIntervalSince1970.isFinite, "an infinite start time")
        }
    } catch {
        precondition("\(error)".contains(context), "an error that does not name the request: \(error)")
    }
    // The same body as GET /version's reply: the version negotiated is within the client's major version (or the
    // engine's own, older one), never above what the engine serves.
    do throws(AgentError) {
        if let chosen = try DockerEngine.negotiated(fromVersionReply: bytes, context: "GET /version") {
            precondition(chosen.major == DockerEngine.maxAPIVersion.major || chosen < DockerEngine.maxAPIVersion,
                         "negotiated \(chosen)")
        }
    } catch {
        precondition("\(error)".contains("GET /version"), "an error that does not name the request: \(error)")
    }
    let text = String(decoding: bytes.prefix(64), as: UTF8.self)
    if let version = DockerAPIVersion(text) {
        precondition(DockerAPIVersion(version.description) == version, "version \(version) does not read back")
    }
    if let date = RFC3339.date(text) {
        precondition(date.timeIntervalSince1970.isFinite, "an infinite time from \(text)")
    }
}
