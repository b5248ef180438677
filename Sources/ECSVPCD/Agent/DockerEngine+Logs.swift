import FoundationEssentials

extension DockerEngine {
    /// The container's recent output, stdout and stderr in the order written, demultiplexed: the agent's log
    /// where no log file exists (not an ECS-optimized AMI). At most the last `tail` lines, of those since
    /// `since` (seconds since 1970) when given, and at most `maxBytes` of reply.
    ///
    /// `GET /containers/NAME/logs?stdout=1&stderr=1&since=…&tail=…` under the API version the engine already
    /// negotiated; before it, unless the caller knows it from its own inspect, the container's `Config.Tty` (a TTY
    /// container's output has no framing).
    public func logs(
        _ name: String, tty knownTTY: Bool? = nil, since: Int? = nil, tail: Int = 2000, maxBytes: Int = 4 << 20
    ) async throws(AgentError) -> [UInt8] {
        let container = try await versioned("/containers/\(Self.pathComponent(name))")
        let bounded = HTTPClient(eventLoopGroup: client.eventLoopGroup, maxBodyBytes: maxBytes)
        let tty: Bool
        if let knownTTY {
            tty = knownTTY
        } else {
            tty = try await self.tty(container, name: name, client: bounded)
        }

        var path = container + "/logs?stdout=1&stderr=1&tail=\(max(tail, 0))"
        if let since { path += "&since=\(since)" }
        let reply = try await send(bounded, path)
        if reply.status == 404 { throw AgentError(.noSuchContainer, "\(target): GET \(path): \(name)") }
        guard reply.status == 200 else {
            throw AgentError(.unexpectedReply, "\(target): GET \(path): HTTP \(reply.status): \(reply.bodyText.prefix(200))")
        }
        if tty { return reply.body }
        var stream = DockerLogStream()
        return stream.feed(reply.body)
    }

    /// The container's `Config.Tty`, from its inspect.
    private func tty(_ container: String, name: String, client bounded: HTTPClient) async throws(AgentError) -> Bool {
        let inspectPath = container + "/json"
        let inspect = try await send(bounded, inspectPath)
        if inspect.status == 404 { throw AgentError(.noSuchContainer, "\(target): GET \(inspectPath): \(name)") }
        guard inspect.status == 200 else {
            throw AgentError(.unexpectedReply, "\(target): GET \(inspectPath): HTTP \(inspect.status)")
        }
        struct Inspect: Decodable {
            struct Config: Decodable { var Tty: Bool? }
            var Config: Config?
        }
        do {
            return try JSONDecoder().decode(Inspect.self, from: Data(inspect.body)).Config?.Tty ?? false
        } catch {
            throw AgentError(.unexpectedReply, "\(target): GET \(inspectPath): not the container JSON expected: \(Self.explain(error))")
        }
    }

    private func send(_ client: HTTPClient, _ path: String) async throws(AgentError) -> HTTPResponse {
        do {
            return try await client.send("GET", target, path: path, headers: [("Accept", "*/*")], timeout: timeout)
        } catch {
            throw AgentError(error.code == .tooLarge ? .unexpectedReply : .unreachable, "Docker Engine \(error)")
        }
    }

    /// A container name or id as one path segment.
    static func pathComponent(_ name: String) -> String {
        var escaped = ""
        for byte in name.utf8 {
            let unreserved = (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
            escaped += unreserved ? String(UnicodeScalar(byte)) : "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
        }
        return escaped
    }
}

/// Docker's multiplexed stream (the attach and logs endpoints without a TTY): frames of an 8-byte header —
/// stream type (0 stdin, 1 stdout, 2 stderr), three zero bytes, the payload's length as a big-endian UInt32 —
/// then the payload. Fed bytes as they come; a header or payload split across reads continues with the next.
struct DockerLogStream {
    private var header: [UInt8] = []
    private var payloadLeft = 0
    private var keep = false

    /// The stdout and stderr payload bytes in `bytes`, in order; stdin echoes and unknown streams are dropped.
    mutating func feed(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if payloadLeft == 0 {
                let take = min(8 - header.count, bytes.count - i)
                header += bytes[i..<(i + take)]
                i += take
                guard header.count == 8 else { break }
                payloadLeft = Int(header[4]) << 24 | Int(header[5]) << 16 | Int(header[6]) << 8 | Int(header[7])
                keep = header[0] == 1 || header[0] == 2
                header.removeAll(keepingCapacity: true)
                continue
            }
            let take = min(payloadLeft, bytes.count - i)
            if keep { output += bytes[i..<(i + take)] }
            payloadLeft -= take
            i += take
        }
        return output
    }

    /// True when no frame is half read: a reply that ends otherwise was cut.
    var isAtFrameBoundary: Bool { header.isEmpty && payloadLeft == 0 }
}
