import FoundationEssentials
import Glibc

/// Who is on the other end of a control connection, as the kernel saw it at connect time (SO_PEERCRED).
public struct ControlPeer: Sendable, Hashable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    public var description: String { "pid \(pid) uid \(uid) gid \(gid)" }

    /// The peer's supplementary groups from `/proc/PID/status` (`Groups:`), or nil when the process is gone
    /// or is no longer the one that connected (its real uid differs: the pid was reused).
    public func supplementaryGroups(procRoot: String = "/proc") -> [UInt32]? {
        guard let text = try? SystemFile.readText("\(procRoot)/\(pid)/status") else { return nil }
        return Self.supplementaryGroups(status: text, uid: uid)
    }

    /// Parses a `/proc/PID/status` text: the `Groups:` line, if the real uid (first field of `Uid:`) is `uid`.
    static func supplementaryGroups(status text: String, uid: UInt32) -> [UInt32]? {
        var groups: [UInt32]?
        var uidMatches = false
        for line in text.split(separator: "\n") {
            if line.hasPrefix("Uid:") {
                uidMatches = line.dropFirst(4).split(whereSeparator: \.isWhitespace).first.flatMap { UInt32($0) } == uid
            } else if line.hasPrefix("Groups:") {
                groups = line.dropFirst(7).split(whereSeparator: \.isWhitespace).compactMap { UInt32($0) }
            }
        }
        return uidMatches ? groups : nil
    }
}

/// Who may ask what: `status` for root and members of the status group, actions for root only.
///
/// The socket's mode (0660, group = status group) already keeps others from connecting; this is checked
/// again per request so a mistaken mode or a shared runtime directory does not widen access.
struct ControlAccess: Sendable {
    /// The status group's name, for messages.
    var groupName: String
    /// Its gid, or nil when the group does not exist (then only root may connect).
    var gid: UInt32?
    var procRoot = "/proc"

    func authorize(_ request: ControlRequest, peer: ControlPeer?) -> ControlReply.Failure? {
        guard let peer else {
            return ControlReply.Failure(.forbidden, "the daemon could not identify the connecting process; ask as root")
        }
        if peer.uid == 0 { return nil }
        if request.isAction {
            return ControlReply.Failure(.forbidden, "\(request.command) needs root; run it with sudo")
        }
        if let gid, peer.gid == gid || peer.supplementaryGroups(procRoot: procRoot)?.contains(gid) == true {
            return nil
        }
        let who = gid == nil ? "root (the group \(groupName) does not exist)" : "root or members of the group \(groupName)"
        return ControlReply.Failure(.forbidden, "status is only for \(who); run it with sudo or join the group")
    }
}
