import Foundation

/// The service manager's side of sd_notify(3): a unix datagram socket that collects what a service
/// sends, each message with the time it was read and the time the kernel queued it (SO_TIMESTAMPNS), which a
/// late reader does not shift. Bound in its own temporary directory, or as an
/// abstract socket (`@name`), and closed when released.
final class NotifyListener: @unchecked Sendable {
    struct Message: Sendable {
        let text: String
        let receivedAt: ContinuousClock.Instant
        /// When the kernel queued the datagram, on the realtime clock (SCM_TIMESTAMPNS): the sender's timing, also
        /// when the test read it late on a loaded machine. Nil if the kernel gave no timestamp.
        let queuedAt: Duration?

        /// `KEY=VALUE` lines as a dictionary (a later line wins, as in systemd).
        var fields: [String: String] {
            var fields: [String: String] = [:]
            for line in text.split(separator: "\n") {
                guard let equals = line.firstIndex(of: "=") else { continue }
                fields[String(line[..<equals])] = String(line[line.index(after: equals)...])
            }
            return fields
        }
    }

    /// What to put in `NOTIFY_SOCKET`.
    let path: String
    private let fd: Int32
    private let directory: TemporaryDirectory?

    init(abstract: Bool = false) throws {
        let directory = abstract ? nil : try TemporaryDirectory()
        let path = directory.map { $0.file("notify.sock") } ?? "@ecsvpcd-test-notify-\(UUID().uuidString)"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw posixError(errno) }

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if abstract { bytes[0] = 0 }
        precondition(bytes.count < MemoryLayout.size(ofValue: address.sun_path))
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else {
            let error = errno
            close(fd)
            throw posixError(error)
        }
        var on: Int32 = 1
        guard setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            let error = errno
            close(fd)
            throw posixError(error)
        }
        self.path = path
        self.fd = fd
        self.directory = directory
    }

    /// The next message, or nil when none arrives within `timeout`.
    func next(timeout: Duration = .seconds(2)) -> Message? {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(
            timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        )
        guard poll(&descriptor, 1, milliseconds) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        // cmsghdr (len, level, type) then a timespec, 8-byte aligned: CMSG_* are macros Swift cannot call.
        var control = [UInt64](repeating: 0, count: 16)
        let received = buffer.withUnsafeMutableBytes { data -> Int in
            control.withUnsafeMutableBytes { controlBytes -> Int in
                var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
                return withUnsafeMutablePointer(to: &vector) { vectorPointer -> Int in
                    var header = msghdr()
                    header.msg_iov = vectorPointer
                    header.msg_iovlen = 1
                    header.msg_control = controlBytes.baseAddress
                    header.msg_controllen = controlBytes.count
                    return recvmsg(fd, &header, 0)
                }
            }
        }
        guard received >= 0 else { return nil }
        var queuedAt: Duration?
        control.withUnsafeBytes { bytes in
            let header = bytes.loadUnaligned(as: cmsghdr.self)
            let dataOffset = (MemoryLayout<cmsghdr>.size + 7) & ~7
            guard header.cmsg_level == SOL_SOCKET, header.cmsg_type == SO_TIMESTAMPNS,
                header.cmsg_len >= dataOffset + MemoryLayout<timespec>.size
            else { return }
            let stamp = bytes.loadUnaligned(fromByteOffset: dataOffset, as: timespec.self)
            queuedAt = .seconds(stamp.tv_sec) + .nanoseconds(stamp.tv_nsec)
        }
        return Message(text: String(decoding: buffer[..<received], as: UTF8.self), receivedAt: .now, queuedAt: queuedAt)
    }

    /// Every message already queued, without waiting.
    func drain() -> [Message] {
        var messages: [Message] = []
        while let message = next(timeout: .zero) { messages.append(message) }
        return messages
    }

    deinit { close(fd) }
}

private func posixError(_ code: Int32) -> POSIXError {
    POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
}
