/// Whether ecs-init runs on this host, as /proc shows it. Where systemd cannot be asked (no system bus: another
/// init, a container), this is how ecsvpcd knows that a Docker restart would end under ecs-init.
public enum EcsInitProcess: Hashable, Sendable {
    /// The first (lowest pid) ecs-init process and its command line.
    case running(pid: Int32, command: String)
    case notRunning
    /// /proc could not be listed; the reason.
    case unknown(String)

    /// The names ecs-init runs as: `amazon-ecs-init`, installed as `/usr/libexec/amazon-ecs-init`
    /// (aws/amazon-ecs-agent `packaging/*/ecs.service`, ExecStart) or `/usr/sbin/amazon-ecs-init`
    /// (`packaging/suse/amazon-ecs.service`), and `ecs-init`, the name of its source folder.
    /// `amazon-ecs-init` is 15 bytes, so the kernel's `comm` (cut at 15) holds it whole.
    static let executableNames: Set<String> = ["amazon-ecs-init", "ecs-init"]

    /// Scans `procRoot` (`/proc`, or a test's tree): a process is ecs-init when its `comm` (the executable's own
    /// file name, a script's too) or the file name of its `argv[0]` is one of `executableNames`. Any subcommand
    /// counts: `start` supervises the agent, `stop` and `post-stop` are the unit stopping it. A process in another
    /// PID namespace than ecsvpcd's (a container's, a booted test machine's) is not this host's ecs-init; one whose
    /// namespace cannot be read counts.
    public static func find(procRoot: String = "/proc") -> EcsInitProcess {
        let entries: [String]
        do throws(SystemFileError) {
            entries = try SystemFile.list(procRoot)
        } catch {
            return .unknown("cannot list \(error)")
        }
        let ownNamespace = try? SystemFile.readLink("\(procRoot)/self/ns/pid")
        for pid in entries.compactMap({ Int32($0) }).filter({ $0 > 0 }).sorted() {
            // A process that ends while being read is simply not there any more.
            guard let comm = try? SystemFile.readText("\(procRoot)/\(pid)/comm") else { continue }
            let arguments = ((try? SystemFile.read("\(procRoot)/\(pid)/cmdline")) ?? [])
                .split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            let name = comm.hasSuffix("\n") ? String(comm.dropLast()) : comm
            let program = arguments.first.map { String($0.split(separator: "/").last ?? "") } ?? ""
            guard executableNames.contains(name) || executableNames.contains(program) else { continue }
            if let ownNamespace, let theirs = try? SystemFile.readLink("\(procRoot)/\(pid)/ns/pid"), theirs != ownNamespace {
                continue
            }
            let command = arguments.isEmpty ? name : arguments.joined(separator: " ")
            return .running(pid: pid, command: String(command.prefix(200)))
        }
        return .notRunning
    }
}
