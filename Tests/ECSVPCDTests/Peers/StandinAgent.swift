import ECSVPCD
import Foundation
import Synchronization

/// The run's shared dockerd (started by scripts/test) and the docker CLI pointed at it.
enum TestDocker {
    struct Unavailable: Error, CustomStringConvertible {
        var description: String
    }

    /// `unix://…/docker.sock` from `ECSVPCD_TEST_DOCKER_HOST`; a test that needs Docker fails without it.
    static func host() throws -> String {
        guard let host = ProcessInfo.processInfo.environment["ECSVPCD_TEST_DOCKER_HOST"], !host.isEmpty else {
            throw Unavailable(
                description: "ECSVPCD_TEST_DOCKER_HOST is not set: this test needs the run's dockerd; run it through scripts/test (as root), which starts dockerd and the stand-in agent image"
            )
        }
        return host
    }

    /// Runs `docker -H HOST ARGS…` and returns its standard output; throws with its standard error on failure.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["docker", "-H", try host()] + arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Unavailable(
                description: "docker \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): \(String(decoding: errors, as: UTF8.self))"
            )
        }
        return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A uniquely named stand-in agent container (image `ecsvpcd-standin-agent:test`, host networking), removed
/// on `remove()` or when released. Its introspection API listens on 127.0.0.1:`introspectionPort`.
final class StandinAgent: @unchecked Sendable {
    static let image = "ecsvpcd-standin-agent:test"
    private static let counter = Mutex(0)

    let name: String
    let introspectionPort: Int
    private var removed = false

    /// Environment of agent.sh: `AGENT_VERSION`, `ECS_NAME` + `DNS_SERVER`, `PROBE_ADDRESS`, `PROBE_PORT`.
    init(name: String? = nil, environment: [String: String] = [:]) throws {
        let n = Self.counter.withLock { value -> Int in
            value += 1
            return value
        }
        self.name = name ?? "ecsvpcd-test-agent-\(getpid())-\(n)"
        introspectionPort = try Self.freePort()
        var arguments = ["run", "-d", "--name", self.name, "--label", "ecsvpcd-test=1", "--network", "host"]
        arguments += ["-e", "INTROSPECTION_PORT=\(introspectionPort)"]
        for (key, value) in environment.sorted(by: { $0.key < $1.key }) { arguments += ["-e", "\(key)=\(value)"] }
        arguments.append(Self.image)
        try TestDocker.run(arguments)
    }

    var introspectionURL: String { "http://127.0.0.1:\(introspectionPort)" }

    /// Waits until the introspection API answers (the container's httpd has started).
    func waitUntilServing(timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let reply = try? await HTTPClient().send(
                "GET", .tcp(host: "127.0.0.1", port: introspectionPort), path: "/v1/metadata", timeout: .seconds(1)
            )
            if reply?.status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestDocker.Unavailable(description: "stand-in agent \(name) did not serve \(introspectionURL) within \(timeout)")
    }

    func remove() {
        guard !removed else { return }
        removed = true
        _ = try? TestDocker.run(["rm", "-f", name])
    }

    deinit { remove() }

    /// A port on 127.0.0.1 that was free a moment ago.
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestDocker.Unavailable(description: "socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { throw TestDocker.Unavailable(description: "cannot find a free port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
