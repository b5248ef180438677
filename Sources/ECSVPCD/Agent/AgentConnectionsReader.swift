import ECSVPCCore

/// Finds the agent's established TCP connections to the probe port, the way `ss -tnp` would: the sockets
/// held by the container's main process and every descendant, looked up in that process's own
/// `/proc/PID/net/tcp` and `tcp6` (so the container's network namespace is the one read).
public struct AgentConnectionsReader: Sendable {
    /// Where procfs is mounted; tests point it at fixture files.
    public var procRoot: String

    public init(procRoot: String = "/proc") {
        self.procRoot = procRoot
    }

    /// Remote addresses (IPv4-mapped IPv6 as IPv4, sorted, no duplicates) of the established connections
    /// to `remotePort` held by `mainPid`'s process tree, or why they could not be read.
    public func sockets(mainPid: Int32, remotePort: Int) -> AgentSockets {
        guard mainPid > 0 else { return .unknown("the agent container has no running process") }
        let pids: [Int32]
        let inodes: Set<UInt64>
        do {
            pids = try processTree(root: mainPid)
            inodes = try socketInodes(of: pids)
        } catch {
            return .unknown(error.isMissing ? "the agent process \(mainPid) is gone (\(error))" : "cannot read \(error)")
        }
        var remotes: Set<IPAddress> = []
        for table in ["tcp", "tcp6"] {
            let path = "\(procRoot)/\(mainPid)/net/\(table)"
            let text: String
            do {
                text = try SystemFile.readText(path)
            } catch {
                if table == "tcp6" && error.isMissing { continue }  // IPv6 disabled
                return .unknown("cannot read \(error)")
            }
            for entry in TCPTableEntry.parse(text)
            where entry.state == .established && entry.remotePort == remotePort && inodes.contains(entry.inode) {
                remotes.insert(entry.remote.unmapped)
            }
        }
        return .remotes(remotes.sorted())
    }

    /// `root` and all its descendants, from the parent pid in each `/proc/PID/stat`.
    func processTree(root: Int32) throws(SystemFileError) -> [Int32] {
        _ = try SystemFile.read("\(procRoot)/\(root)/stat")
        var children: [Int32: [Int32]] = [:]
        for name in try SystemFile.list(procRoot) {
            guard let pid = Int32(name), pid != root else { continue }
            // Processes come and go while we look; one that vanished is simply not a descendant.
            guard let stat = try? SystemFile.readText("\(procRoot)/\(name)/stat"), let parent = Self.parentPid(stat: stat)
            else { continue }
            children[parent, default: []].append(pid)
        }
        var tree: [Int32] = [root]
        var index = 0
        while index < tree.count {
            tree += children[tree[index]] ?? []
            index += 1
        }
        return tree
    }

    /// The inodes of the sockets open in these processes (`/proc/PID/fd/N` → `socket:[INODE]`).
    func socketInodes(of pids: [Int32]) throws(SystemFileError) -> Set<UInt64> {
        var inodes: Set<UInt64> = []
        for (index, pid) in pids.enumerated() {
            let dir = "\(procRoot)/\(pid)/fd"
            let names: [String]
            do {
                names = try SystemFile.list(dir)
            } catch {
                if index > 0 && error.isMissing { continue }  // a descendant that exited
                throw error
            }
            for name in names {
                guard let target = try? SystemFile.readLink("\(dir)/\(name)"), target.hasPrefix("socket:["),
                    target.hasSuffix("]"), let inode = UInt64(target.dropFirst(8).dropLast())
                else { continue }
                inodes.insert(inode)
            }
        }
        return inodes
    }

    /// The fourth field of `/proc/PID/stat`, read after the last `)` since the command name may hold anything.
    static func parentPid(stat: String) -> Int32? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count >= 2 else { return nil }
        return Int32(fields[1])
    }
}

/// One line of `/proc/net/tcp` or `/proc/net/tcp6`.
struct TCPTableEntry: Hashable, Sendable {
    enum State: UInt8 {
        case established = 0x01
        case synSent, synReceived, finWait1, finWait2, timeWait, close, closeWait, lastAck, listen, closing
    }

    var local: IPAddress
    var localPort: Int
    var remote: IPAddress
    var remotePort: Int
    var state: State?
    var inode: UInt64

    /// The entries of a table; the header and lines that do not parse are skipped.
    static func parse(_ text: String) -> [TCPTableEntry] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count >= 10, fields[0].hasSuffix(":"),
                let (local, localPort) = endpoint(fields[1]), let (remote, remotePort) = endpoint(fields[2]),
                let state = UInt8(fields[3], radix: 16), let inode = UInt64(fields[9])
            else { return nil }
            return TCPTableEntry(
                local: local, localPort: localPort, remote: remote, remotePort: remotePort,
                state: State(rawValue: state), inode: inode
            )
        }
    }

    /// `0100007F:01BB` → 127.0.0.1, 443. The kernel prints each 32-bit word of the address in host order
    /// (little-endian here), so the bytes of every group of eight hex digits are reversed.
    static func endpoint(_ text: Substring) -> (IPAddress, Int)? {
        let parts = text.split(separator: ":")
        // Four hex digits of port, as the kernel prints it: no sign, nothing over 65535.
        guard parts.count == 2, parts[1].utf8.count <= 4, parts[1].allSatisfy({ $0.isASCII && $0.isHexDigit }),
            let port = Int(parts[1], radix: 16), parts[0].count == 8 || parts[0].count == 32,
            parts[0].allSatisfy(\.isHexDigit)
        else { return nil }
        let hex = Array(parts[0].utf8)
        var bytes: [UInt8] = []
        for word in stride(from: 0, to: hex.count, by: 8) {
            var wordBytes: [UInt8] = []
            for i in stride(from: word, to: word + 8, by: 2) {
                guard let byte = UInt8(String(decoding: hex[i..<(i + 2)], as: UTF8.self), radix: 16) else { return nil }
                wordBytes.append(byte)
            }
            bytes += isLittleEndian ? wordBytes.reversed() : wordBytes
        }
        return (bytes.count == 4 ? IPAddress(v4Bytes: bytes) : IPAddress(v6Bytes: bytes), port)
    }

    private static let isLittleEndian = 1.littleEndian == 1
}
