import ECSVPCCore
import ECSVPCD
import Foundation
import Synchronization

/// A real dnsmasq on its own loopback address, answering only from data the test gives it.
///
/// Flippable answers (A/AAAA per name) live in a hosts-style file passed as `--addn-hosts`, which
/// dnsmasq re-reads on SIGHUP; `set(_:_:)` rewrites it and waits until dnsmasq serves the new file.
/// CNAMEs and no-data names go into the command line (dnsmasq does not re-read that on SIGHUP), so they
/// are fixed at start. Names under `localDomains` that it does not know get NXDOMAIN; names in any other
/// domain get REFUSED (there is no upstream). UDP answers are capped at 512 bytes (no EDNS in our queries),
/// so a name with ~40 addresses comes back with the TC bit set and must be asked again over TCP.
final class Dnsmasq: @unchecked Sendable {
    static let executable = "/usr/sbin/dnsmasq"

    // dnsmasq runs under a small perl supervisor (Debian's perl-base is essential), for two reasons:
    // - a child started from a test thread inherits that thread's blocked-signal mask, and dnsmasq never
    //   unblocks it, so SIGHUP (reload) and SIGTERM (stop) would stay pending forever; perl clears the mask;
    // - Foundation's Process learns that a child ended when an inherited socket closes, and dnsmasq closes
    //   every inherited descriptor at start; Process would then block in waitpid on it, stalling every other
    //   peer's exit. perl keeps that descriptor open, forwards HUP/TERM/INT, and exits with dnsmasq.
    private static let supervisor = "/usr/bin/perl"
    private static let supervisorArguments = [
        "-MPOSIX", "-e",
        """
        my $pid; for my $s (qw(HUP TERM INT)) { $SIG{$s} = sub { kill $s, $pid if $pid } }
        sigprocmask(SIG_SETMASK, POSIX::SigSet->new) or die "sigprocmask: $!";
        $pid = fork() // die "fork: $!";
        if ($pid == 0) { exec { $ARGV[0] } @ARGV or die "exec: $!" }
        while (1) { my $r = waitpid($pid, 0); if ($r == $pid) { exit(($? & 127) ? 128 + ($? & 127) : $? >> 8) } exit 1 if $r == -1 && !$!{EINTR} }
        """,
    ]

    let server: DNSServer
    let ttl: Int
    private let directory: TemporaryDirectory
    private let process: PeerProcess
    private let names: Mutex<[String: [IPAddress]]>
    private let generation = Mutex(0)

    /// Starts dnsmasq and returns once it answers.
    init(
        names: [String: [IPAddress]] = [:],
        cnames: [(alias: String, target: String)] = [],
        noData: [String] = [],
        localDomains: [String] = ["test", "amazonaws.com"],
        ttl: Int = 60
    ) async throws {
        let address = Loopback.dnsServer()
        server = DNSServer(address: address, port: geteuid() == 0 ? 53 : 10053)
        self.ttl = ttl
        directory = try TemporaryDirectory()
        self.names = Mutex(names)
        try Self.writeHosts(names, generation: 0, to: directory)
        var arguments = [
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--listen-address=\(address)",
            "--bind-interfaces",
            "--port=\(server.port)",
            "--addn-hosts=\(directory.file("hosts"))",
            "--local-ttl=\(ttl)",
            "--pid-file=\(directory.file("dnsmasq.pid"))",
            "--log-facility=\(directory.file("dnsmasq.log"))",
            "--user=root",
            "--local=/\(Self.sentinelDomain)/",
        ]
        arguments += localDomains.map { "--local=/\($0)/" }
        arguments += cnames.map { "--cname=\($0.alias),\($0.target)" }
        arguments += noData.map { "--txt-record=\($0),no-address" }
        process = try PeerProcess(
            Self.supervisor, Self.supervisorArguments + [Self.executable] + arguments, name: "dnsmasq \(server)")
        try await waitUntilServing(generation: 0)
        // Let scripts/test kill dnsmasq itself too, should this test run die before stopping it.
        if let dir = ProcessInfo.processInfo.environment["ECSVPCD_TEST_RUN_DIR"],
            let pid = try? String(contentsOfFile: directory.file("dnsmasq.pid"), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines),
            !pid.isEmpty
        {
            let file = URL(fileURLWithPath: dir).appendingPathComponent("peer-\(pid).pid")
            try? "\(pid)\n".write(to: file, atomically: true, encoding: .utf8)
            runDirPidFile = file
        }
    }

    private var runDirPidFile: URL?

    deinit {
        process.stop()
        if let runDirPidFile { try? FileManager.default.removeItem(at: runDirPidFile) }
    }

    /// A resolver configuration that asks only this dnsmasq, with short timeouts for tests.
    func configuration(timeout: Duration = .seconds(5), attempts: Int = 1) -> ResolverConfiguration {
        ResolverConfiguration(servers: [server], timeout: timeout, attempts: attempts)
    }

    /// Replaces the addresses of `name` (empty: the name is gone, so NXDOMAIN in a local domain) and reloads.
    func set(_ name: String, _ addresses: [IPAddress]) async throws {
        let snapshot = self.names.withLock { names in
            names[name] = addresses.isEmpty ? nil : addresses
            return names
        }
        try await reload(snapshot)
    }

    /// Sends SIGHUP after rewriting the hosts file, and waits until dnsmasq answers from the new file.
    func reload() async throws {
        try await reload(names.withLock { $0 })
    }

    func stop() { process.stop() }

    /// Suspends (SIGSTOP) or resumes (SIGCONT) dnsmasq itself, not its supervisor: suspended, every query times out.
    func suspend(_ suspended: Bool) {
        guard let text = try? String(contentsOfFile: directory.file("dnsmasq.pid"), encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0
        else { return }
        kill(pid, suspended ? SIGSTOP : SIGCONT)
    }

    var log: String { (try? String(contentsOfFile: directory.file("dnsmasq.log"), encoding: .utf8)) ?? "" }

    private func reload(_ snapshot: [String: [IPAddress]]) async throws {
        let next = generation.withLock { value in
            value += 1
            return value
        }
        try Self.writeHosts(snapshot, generation: next, to: directory)
        process.signal(SIGHUP)
        try await waitUntilServing(generation: next)
    }

    // Each hosts file carries a sentinel name for its generation: once dnsmasq answers it, the file is live.
    private static let sentinelDomain = "ecsvpcd-peer.test"
    private static func sentinel(_ generation: Int) -> String { "generation-\(generation).\(sentinelDomain)" }

    private static func writeHosts(_ names: [String: [IPAddress]], generation: Int, to directory: TemporaryDirectory) throws {
        var lines = ["127.0.0.1 \(sentinel(generation))"]
        for (name, addresses) in names.sorted(by: { $0.key < $1.key }) {
            lines += addresses.map { "\($0) \(name)" }
        }
        try directory.write("hosts", lines.joined(separator: "\n") + "\n")
    }

    private func waitUntilServing(generation: Int) async throws {
        let resolver = DNSResolver(configuration: configuration(timeout: .milliseconds(200), attempts: 1))
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if !process.process.isRunning {
                throw DnsmasqError("dnsmasq exited with status \(process.process.terminationStatus): \(log)")
            }
            if await resolver.resolve(Self.sentinel(generation)).outcome == .answered { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw DnsmasqError("dnsmasq at \(server) did not serve generation \(generation) within 10 s: \(log)")
    }
}

struct DnsmasqError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
