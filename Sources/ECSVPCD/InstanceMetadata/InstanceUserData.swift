import ECSVPCCore

/// The instance's user data, which the agent reads at start for `{"ECSAgentConfiguration": {...}}`
/// (agent/config/config.go `userDataConfig`).
public enum InstanceUserData {
    /// AWS's limit on user data: 16 KiB before base64 encoding.
    public static let maxBytes = 16 << 10

    /// GETs `/latest/user-data` through the client's IMDSv2 session; nil when the instance has none (404).
    /// A larger reply than `maxBytes` is a failure, not a truncated text.
    public static func fetch(from client: InstanceMetadataClient) async throws(InstanceMetadataClient.Failure) -> String? {
        try await client.userData(maxBytes: maxBytes)
    }
}

extension InstanceMetadataClient {
    /// `/latest/user-data` lies outside `/latest/meta-data/`, which `get` serves; so this asks for its own token
    /// (user data is read once per start or reload, so the extra PUT costs nothing that matters).
    func userData(maxBytes: Int) async throws(Failure) -> String? {
        let path = "/latest/user-data"
        let bounded = HTTPClient(eventLoopGroup: http.eventLoopGroup, maxBodyBytes: maxBytes)
        var lastProblem = "no attempt made"
        for attempt in 0..<attempts {
            if attempt > 0 { try? await LoopSleep.sleep(for: .milliseconds(100 << (attempt - 1))) }
            let token: HTTPResponse
            do {
                token = try await http.send(
                    "PUT", target, path: "/latest/api/token",
                    headers: [("X-aws-ec2-metadata-token-ttl-seconds", "60")], timeout: requestTimeout
                )
            } catch {
                lastProblem = error.description
                continue
            }
            guard token.status == 200, !token.body.isEmpty else {
                lastProblem = "token request answered HTTP \(token.status)"
                continue
            }
            let response: HTTPResponse
            do {
                response = try await bounded.send(
                    "GET", target, path: path,
                    headers: [("X-aws-ec2-metadata-token", token.bodyText.trimmingWhitespace())], timeout: requestTimeout
                )
            } catch {
                if error.code == .tooLarge {
                    throw Failure(path: path, detail: "over \(maxBytes) bytes, AWS's limit for user data", notFound: false)
                }
                lastProblem = error.description
                continue
            }
            switch response.status {
            case 200: return response.bodyText
            case 404: return nil
            default: lastProblem = "HTTP \(response.status)"
            }
        }
        throw Failure(path: path, detail: "\(lastProblem) after \(attempts) attempts at \(endpoint)", notFound: false)
    }
}
