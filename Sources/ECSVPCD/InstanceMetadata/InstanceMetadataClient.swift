import ECSVPCCore
import FoundationEssentials
import Glibc
import Logging

/// An IMDSv2 client: a session token (`PUT /latest/api/token`), reused until it expires or a GET answers 401,
/// a per-request timeout, and a bounded number of retries with backoff.
public actor InstanceMetadataClient {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var detail: String
        /// True when the path does not exist (404): an optional value, not an outage.
        public var notFound: Bool
        public var description: String { "instance metadata \(path): \(detail)" }
    }

    let target: HTTPTarget
    let endpoint: String
    let http: HTTPClient
    let requestTimeout: Duration
    let attempts: Int
    let tokenTTLSeconds: Int
    private var token: (value: String, expires: ContinuousClock.Instant)?

    public init(
        endpoint: String,
        http: HTTPClient = HTTPClient(),
        requestTimeout: Duration = .seconds(1),
        attempts: Int = 3,
        tokenTTLSeconds: Int = 21600
    ) throws(HTTPError) {
        self.target = try HTTPTarget(url: endpoint)
        self.endpoint = endpoint
        self.http = http
        self.requestTimeout = requestTimeout
        self.attempts = max(1, attempts)
        self.tokenTTLSeconds = tokenTTLSeconds
    }

    /// GETs `/latest/meta-data/PATH` and returns the body, trimmed.
    public func get(_ path: String) async throws(Failure) -> String {
        let fullPath = "/latest/meta-data/" + path
        var lastProblem = "no attempt made"
        for attempt in 0..<attempts {
            if attempt > 0 {
                // 100 ms, 200 ms, 400 ms …: enough for a busy metadata service, short for a one-shot check.
                try? await LoopSleep.sleep(for: .milliseconds(100 << (attempt - 1)))
            }
            let currentToken: String
            do {
                currentToken = try await sessionToken()
            } catch {
                lastProblem = error.detail
                continue
            }
            let response: HTTPResponse
            do {
                response = try await http.send(
                    "GET", target, path: fullPath,
                    headers: [("X-aws-ec2-metadata-token", currentToken)],
                    timeout: requestTimeout
                )
            } catch {
                lastProblem = error.description
                continue
            }
            switch response.status {
            case 200:
                return response.bodyText.trimmingWhitespace()
            case 401:
                // The token expired or was revoked: get a new one and try again.
                token = nil
                lastProblem = "401 Unauthorized (token refused)"
            case 404:
                throw Failure(path: fullPath, detail: "not found (404)", notFound: true)
            default:
                lastProblem = "HTTP \(response.status)"
            }
        }
        throw Failure(path: fullPath, detail: "\(lastProblem) after \(attempts) attempts at \(endpoint)", notFound: false)
    }

    /// Gets a token now, so that requests made at once afterwards share it. Failures surface on the requests.
    public func prime() async {
        _ = try? await sessionToken()
    }

    private func sessionToken() async throws(Failure) -> String {
        let now = ContinuousClock.now
        if let token, token.expires > now { return token.value }
        let response: HTTPResponse
        do {
            response = try await http.send(
                "PUT", target, path: "/latest/api/token",
                headers: [("X-aws-ec2-metadata-token-ttl-seconds", String(tokenTTLSeconds))],
                timeout: requestTimeout
            )
        } catch {
            throw Failure(path: "/latest/api/token", detail: error.description, notFound: false)
        }
        guard response.status == 200 else {
            throw Failure(
                path: "/latest/api/token",
                detail: "token request answered HTTP \(response.status)", notFound: false
            )
        }
        let value = response.bodyText.trimmingWhitespace()
        guard !value.isEmpty, value.count <= 4096 else {
            throw Failure(path: "/latest/api/token", detail: "empty or oversized token", notFound: false)
        }
        // Refresh a minute before the server would expire it.
        token = (value, now + .seconds(max(1, tokenTTLSeconds - 60)))
        return value
    }
}
