import Foundation
import Testing

@testable import ECSVPCD

@Suite("SystemdNotifier against a NOTIFY_SOCKET listener")
struct SystemdNotifierTests {
    @Test("ready sends READY=1 with the status on one line")
    func readyWithStatus() throws {
        let listener = try NotifyListener()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.path])

        notifier.ready(status: "ok: 3 of 3 names on VPC endpoints\nagent connected\r\n")

        let message = try #require(listener.next())
        #expect(message.text == "READY=1\nSTATUS=ok: 3 of 3 names on VPC endpoints agent connected\n")
        #expect(message.fields["READY"] == "1")
    }

    @Test("status, stopping and watchdog each send one datagram, in order")
    func statusStoppingWatchdog() throws {
        let listener = try NotifyListener()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.path])

        notifier.status("restart pending\nin 10m")
        notifier.watchdog()
        notifier.stopping()

        let messages = [listener.next(), listener.next(), listener.next()].compactMap { $0?.text }
        #expect(messages == ["STATUS=restart pending in 10m\n", "WATCHDOG=1\n", "STOPPING=1\n"])
        #expect(listener.next(timeout: .milliseconds(50)) == nil)
    }

    @Test("reloading carries MONOTONIC_USEC of CLOCK_MONOTONIC")
    func reloadingTimestamp() throws {
        let listener = try NotifyListener()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.path])

        let before = SystemdNotifier.monotonicMicroseconds()
        notifier.reloading()
        let after = SystemdNotifier.monotonicMicroseconds()

        let fields = try #require(listener.next()).fields
        #expect(fields["RELOADING"] == "1")
        let stamp = try #require(fields["MONOTONIC_USEC"].flatMap(UInt64.init))
        #expect(before <= stamp && stamp <= after)
        // The same clock systemd reads: /proc/uptime counts CLOCK_BOOTTIME, which is never behind it.
        let uptime = try String(contentsOfFile: "/proc/uptime", encoding: .utf8).split(separator: " ")[0]
        let boottime = try #require(Double(uptime))
        #expect(Double(stamp) / 1_000_000 <= boottime + 1)
    }

    @Test("an abstract socket name (@…) works like a path")
    func abstractSocket() throws {
        let listener = try NotifyListener(abstract: true)
        #expect(listener.path.hasPrefix("@"))
        SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.path]).ready(status: "up")
        #expect(listener.next()?.text == "READY=1\nSTATUS=up\n")
    }

    @Test("without NOTIFY_SOCKET nothing is sent and there is no watchdog")
    func noSocketNoOp() throws {
        let listener = try NotifyListener()
        let notifier = SystemdNotifier(environment: ["WATCHDOG_USEC": "90000000"])

        #expect(notifier.socketPath == nil)
        #expect(notifier.watchdogInterval == nil)
        notifier.ready(status: "up")
        notifier.status("x")
        notifier.reloading()
        notifier.watchdog()
        notifier.stopping()
        #expect(listener.next(timeout: .milliseconds(100)) == nil)
    }

    @Test("watchdog interval is half of WATCHDOG_USEC when WATCHDOG_PID is this process")
    func watchdogInterval() throws {
        let listener = try NotifyListener()
        let notifier = SystemdNotifier(environment: [
            "NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "90000000", "WATCHDOG_PID": String(getpid()),
        ])
        #expect(notifier.watchdogInterval == .seconds(45))
        #expect(
            SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "3000"])
                .watchdogInterval == .microseconds(1500)
        )
    }

    @Test("the watchdog is off for another WATCHDOG_PID, a zero or an unreadable WATCHDOG_USEC")
    func watchdogOff() {
        let own = getpid()
        #expect(SystemdNotifier.watchdogInterval(usec: "90000000", pid: String(own + 1), ownPID: own) == nil)
        #expect(SystemdNotifier.watchdogInterval(usec: "90000000", pid: "x", ownPID: own) == nil)
        #expect(SystemdNotifier.watchdogInterval(usec: "0", pid: nil, ownPID: own) == nil)
        #expect(SystemdNotifier.watchdogInterval(usec: "90s", pid: nil, ownPID: own) == nil)
        #expect(SystemdNotifier.watchdogInterval(usec: nil, pid: String(own), ownPID: own) == nil)
    }

    @Test("a socket nobody listens on is not an error for the daemon")
    func missingSocket() throws {
        let directory = try TemporaryDirectory()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": directory.file("gone.sock")])
        notifier.ready(status: "up")
        #expect(NotifySocket.send("READY=1\n", to: directory.file("gone.sock")) == ENOENT)
        #expect(NotifySocket.send("READY=1\n", to: "relative.sock") == EAFNOSUPPORT)
    }
}
