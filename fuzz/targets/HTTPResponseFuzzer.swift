// HTTP/1 replies as the HTTP client reads them (Sources/ECSVPCD/HTTP/HTTPClient.swift: NIO's parser and the
// client's own reply collector), from a real loopback connection. Input: the bytes a server sends before it closes.
// Checks: the client always ends with a reply or an error of a kind it documents, never by waiting out its deadline
// (the server has closed); a reply's body is within the client's limit; a body over the limit is refused as too large.
import Dispatch
import ECSVPCCore
import Glibc
import Synchronization

/// A loopback server that answers every connection with the current input, once it has read the request's head.
private final class ReplyServer: Sendable {
    let port: Int
    let reply = Mutex<[UInt8]>([])
    private let fd: Int32

    init() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        precondition(bound, "cannot listen on 127.0.0.1: errno \(errno)")
        port = Int(UInt16(bigEndian: address.sin_port))
        self.fd = fd
        DispatchQueue.global().async { [self] in
            while true {
                let client = accept(fd, nil, nil)
                guard client >= 0 else { continue }
                var head: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 4096)
                while !head.suffix(4).elementsEqual([13, 10, 13, 10]) {
                    let count = read(client, &buffer, buffer.count)
                    if count <= 0 { break }
                    head += buffer[0..<count]
                }
                let bytes = self.reply.withLock { $0 }
                var sent = 0
                while sent < bytes.count {
                    let count = bytes[sent...].withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
                    if count <= 0 { break }
                    sent += count
                }
                shutdown(client, Int32(SHUT_WR))
                while read(client, &buffer, buffer.count) > 0 {}
                close(client)
            }
        }
    }
}

private let server = ReplyServer()
private let client = HTTPClient(maxBodyBytes: 4096)

func fuzzHTTPResponse(_ bytes: [UInt8]) {
    server.reply.withLock { $0 = bytes }
    let done = DispatchSemaphore(value: 0)
    let outcome = Mutex<Result<HTTPResponse, HTTPError>?>(nil)
    Task {
        let result: Result<HTTPResponse, HTTPError>
        do throws(HTTPError) {
            result = .success(try await client.send(
                "GET", .tcp(host: "127.0.0.1", port: server.port), path: "/v1/metadata", timeout: .seconds(10)))
        } catch {
            result = .failure(error)
        }
        outcome.withLock { $0 = result }
        done.signal()
    }
    done.wait()
    switch outcome.withLock({ $0 }) {
    case .success(let response)?:
        precondition(response.body.count <= client.maxBodyBytes, "a body of \(response.body.count) bytes over the limit")
        precondition(response.body.count <= bytes.count, "a body longer than all the server sent")
        precondition((0...999).contains(response.status), "status \(response.status)")
    case .failure(let error)?:
        precondition([.malformed, .tooLarge, .closed].contains(error.code), "the client ended with \(error.code): \(error)")
    case nil:
        preconditionFailure("no outcome")
    }
}
