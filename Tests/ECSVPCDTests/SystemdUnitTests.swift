import Foundation
import Testing

/// systemd/ecsvpcd.service, checked by the real systemd-analyze of this machine.
@Suite(
    "systemd/ecsvpcd.service",
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"))
)
struct SystemdUnitTests {
    static let unitPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("systemd/ecsvpcd.service").path

    static func analyze(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try runTool(
            "/usr/bin/systemd-analyze", arguments,
            environment: ["SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        )
    }

    /// `[Section]` → key → values, in file order (keys may repeat).
    static func settings() throws -> [String: [String: [String]]] {
        var sections: [String: [String: [String]]] = [:]
        var section = ""
        for line in try String(contentsOfFile: unitPath, encoding: .utf8).split(separator: "\n") {
            if line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                section = String(line.dropFirst().dropLast())
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { continue }
            sections[section, default: [:]][String(line[..<equals]), default: []].append(
                String(line[line.index(after: equals)...])
            )
        }
        return sections
    }

    @Test("systemd-analyze security --offline rates the exposure at 2.0 or less")
    func exposure() throws {
        let review = try Self.analyze(["security", "--offline=true", "--no-pager", Self.unitPath])
        let line = try #require(
            review.output.split(separator: "\n").last { $0.contains("Overall exposure level") },
            "\(review.output)"
        )
        // "→ Overall exposure level for ecsvpcd.service: 1.9 OK :-)" (the face depends on the locale)
        let label = try #require(line.range(of: "ecsvpcd.service: "))
        let number = try #require(
            line[label.upperBound...].split(separator: " ").first.flatMap { Double($0) },
            "\(line)"
        )
        #expect(number <= 2.0, "\(review.output)")
        // The same bound, enforced by systemd-analyze itself (the threshold is in tenths).
        #expect(
            try Self.analyze(["security", "--offline=true", "--threshold=20", "--no-pager", Self.unitPath]).status == 0
        )
    }

    /// verify checks the unit's syntax, every key and value, and that the executables exist. The package
    /// installs /usr/bin/ecsvpcd, which is not there on a build machine, so a copy runs /bin/true instead.
    @Test("systemd-analyze verify has nothing to say about it")
    func verify() throws {
        let directory = try TemporaryDirectory()
        let unit = try String(contentsOfFile: Self.unitPath, encoding: .utf8)
        #expect(unit.contains("\nExecStart=/usr/bin/ecsvpcd run\n"))
        try directory.write(
            "ecsvpcd.service",
            unit.replacingOccurrences(of: "\nExecStart=/usr/bin/ecsvpcd run\n", with: "\nExecStart=/bin/true run\n")
        )

        let result = try Self.analyze(["verify", "--man=no", directory.file("ecsvpcd.service")])
        #expect(result.status == 0)
        #expect(result.output.isEmpty, "\(result.output)")
    }

    @Test("it is a notify service with watchdog, reload, state and runtime directories")
    func serviceContract() throws {
        let service = try #require(try Self.settings()["Service"])
        #expect(service["Type"] == ["notify"])
        #expect(service["NotifyAccess"] == ["main"])
        #expect(service["ExecStart"] == ["/usr/bin/ecsvpcd run"])
        #expect(service["ExecReload"] == ["/bin/kill -HUP $MAINPID"])
        #expect(service["WatchdogSec"] == ["90s"])
        #expect(service["Restart"] == ["on-failure"])
        #expect(service["RestartPreventExitStatus"] == ["78"])
        #expect(service["StateDirectory"] == ["ecsvpcd"])
        #expect(service["RuntimeDirectory"] == ["ecsvpcd"])
        #expect(service["RuntimeDirectoryPreserve"] == ["no"])
        let unit = try #require(try Self.settings()["Unit"])
        #expect(
            unit["After"]?.joined(separator: " ").split(separator: " ").sorted() == [
                "docker.service", "network-online.target", "time-sync.target",
            ]
        )
        #expect(unit["Wants"]?.contains("network-online.target") == true)
    }

    @Test("the sandbox keeps what the daemon needs: unix and IP sockets, the agent's /proc/PID, any address")
    func sandboxLeavesTheJob() throws {
        let service = try #require(try Self.settings()["Service"])
        #expect(service["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6"])
        #expect(service["CapabilityBoundingSet"] == ["CAP_SYS_PTRACE"])
        #expect(service["User"] == nil && service["DynamicUser"] == nil)
        // SecureBits=noroot would start root without any capability, CAP_SYS_PTRACE included.
        #expect(service["SecureBits"] == nil)
        #expect(service["ProtectProc"] == ["invisible"])
        #expect(service["IPAddressDeny"] == nil && service["IPAddressAllow"] == nil)
        #expect(service["PrivateNetwork"] == nil)
        #expect(service["ProtectSystem"] == ["strict"])
        #expect(service["UMask"] == ["0077"])
    }
}
