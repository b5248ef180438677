import ECSVPCCore
import ECSVPCD
import Foundation

/// The IMDSv2 emulator (Tests/Peers/imds-emulator.py) on its own loopback address, answering from values the
/// test gives it and logging every request as `METHOD PATH STATUS`.
final class InstanceMetadataEmulator: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Peers/imds-emulator.py").path

    let address: IPAddress
    let port: Int
    private let directory: TemporaryDirectory
    private let process: PeerProcess

    /// The base URL, as `ECSVPCD_IMDS_ENDPOINT` takes it.
    var endpoint: String { "http://\(address):\(port)" }

    /// Starts the emulator with `values` (metadata path under `latest/meta-data/` → value) and returns once it
    /// accepts connections.
    init(values: [String: String]) async throws {
        address = Loopback.metadataServer()
        port = geteuid() == 0 ? 80 : 10080
        directory = try TemporaryDirectory()
        try Self.write(values, to: directory)
        try directory.write("statuses.json", "{}")
        try directory.write("requests.log", "")
        // SIGTERM and SIGUSR1 must reach the emulator (stop(), revokeTokens()). PeerProcess now spawns with an
        // empty signal mask; unblocking here as well keeps this peer independent of how it is spawned.
        // Debian's python3 itself (scripts/test installs it), not a version manager's shim on the PATH: the shim is
        // a shell script that takes seconds to start when every suite starts its peers at once.
        process = try PeerProcess(
            FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "/usr/bin/env",
            (FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? [] : ["python3"]) + [
                "-c",
                "import runpy, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); "
                    + "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')",
                Self.script, "--listen", address.description, "--port", String(port),
                "--data", directory.file("values.json"), "--statuses", directory.file("statuses.json"),
                "--log", directory.file("requests.log"),
            ],
            name: "imds-emulator \(address)"
        )
        // Generous: a loaded machine (every suite starting its peers at once) is not the emulator's failure.
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            guard process.process.isRunning else {
                throw Failure("imds-emulator exited with status \(process.process.terminationStatus)")
            }
            // A bare connect, closed at once, is not a request: it leaves no line in the log.
            if await TCPProbe().probe([address], port: port, timeout: .milliseconds(200))[address]?.isOpen == true { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw Failure("imds-emulator at \(endpoint) did not accept connections within 30 s")
    }

    /// The values of an instance in `region` whose VPC has `vpcCIDRs` (IPv4 blocks first, then IPv6).
    static func instance(
        region: String = "us-east-1",
        mac: String = "0e:12:34:56:78:9a",
        ipv4: [String] = ["127.16.0.0/16"],
        ipv6: [String] = [],
        domain: String? = "amazonaws.com"
    ) -> [String: String] {
        var values = [
            "placement/region": region,
            "instance-id": "i-0123456789abcdef0",
            "mac": mac,
            "network/interfaces/macs/\(mac)/vpc-ipv4-cidr-blocks": ipv4.joined(separator: "\n"),
        ]
        if !ipv6.isEmpty { values["network/interfaces/macs/\(mac)/vpc-ipv6-cidr-blocks"] = ipv6.joined(separator: "\n") }
        if let domain { values["services/domain"] = domain }
        return values
    }

    /// Replaces the values; the emulator re-reads them on every request.
    func set(_ values: [String: String]) throws {
        try Self.write(values, to: directory)
    }

    /// Makes GETs of these paths (under `latest/meta-data/`) answer these statuses instead of their values, as an
    /// outage or throttling of one path would; `[:]` ends it. The emulator re-reads them on every request.
    func answer(_ statuses: [String: Int]) throws {
        let data = try JSONSerialization.data(withJSONObject: statuses, options: [.sortedKeys])
        try directory.write("statuses.json", String(decoding: data, as: UTF8.self))
    }

    /// Every request so far, as `METHOD PATH STATUS`.
    var requests: [String] {
        ((try? String(contentsOfFile: directory.file("requests.log"), encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init)
    }

    /// Revokes every token (SIGUSR1) and returns once a token issued before the signal is refused.
    ///
    /// The check leaves a `PUT`, a `GET … 200` or two and a `GET … 401` in the request log.
    func revokeTokens() async throws {
        let http = HTTPClient()
        let target = try HTTPTarget(url: endpoint)
        let token = try await http.send(
            "PUT", target, path: "/latest/api/token",
            headers: [("X-aws-ec2-metadata-token-ttl-seconds", "60")], timeout: .seconds(2)
        ).bodyText
        process.signal(SIGUSR1)
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            let status = try await http.send(
                "GET", target, path: "/latest/meta-data/", headers: [("X-aws-ec2-metadata-token", token)],
                timeout: .seconds(2)
            ).status
            if status == 401 { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw Failure("imds-emulator did not revoke its tokens within 5 s")
    }

    /// Suspends (SIGSTOP) or resumes (SIGCONT) the emulator: suspended, it accepts connections (the kernel
    /// does) but never answers, as an instance metadata service that has gone quiet.
    func suspend(_ suspended: Bool) {
        process.signal(suspended ? SIGSTOP : SIGCONT)
    }

    /// Stops the emulator (SIGTERM, then SIGKILL after 3 s) without holding a thread of the cooperative pool.
    func stop() async {
        let process = self.process
        await offCooperativePool { process.stop() }
    }

    private static func write(_ values: [String: String], to directory: TemporaryDirectory) throws {
        let data = try JSONSerialization.data(withJSONObject: values, options: [.sortedKeys])
        try directory.write("values.json", String(decoding: data, as: UTF8.self))
    }
}

/// Runs blocking work (a peer's `stop()`, which sleeps until the process exits, up to 3 s) on a thread of its own,
/// so that parallel tests do not starve the cooperative pool (two threads on a two-core machine).
func offCooperativePool(_ work: @escaping @Sendable () -> Void) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        Thread.detachNewThread {
            work()
            continuation.resume()
        }
    }
}
