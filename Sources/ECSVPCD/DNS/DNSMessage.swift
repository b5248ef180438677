import ECSVPCCore

// The DNS wire format (RFC 1035), just what a stub resolver needs: encode one query, decode any response.
// Pure Swift on `[UInt8]` with no NIO or Foundation (fuzzed by `fuzz/run dns-response`). Every read is
// bounds-checked and malformed input throws `DNSWireError`; nothing here traps.

/// Why a DNS message could not be read or written, with the byte offset where reading stopped.
public struct DNSWireError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of problem, open to new cases without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        public static let truncated = Code("truncated")
        public static let badLabel = Code("bad label")
        public static let nameTooLong = Code("name too long")
        public static let badPointer = Code("bad compression pointer")
        public static let badRecordData = Code("bad record data")
        public static let badName = Code("bad name")

        public var description: String { name }
    }

    public var code: Code
    public var offset: Int
    public var reason: String

    public init(_ code: Code, at offset: Int, _ reason: String) {
        self.code = code
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "\(code) at byte \(offset): \(reason)" }
}

/// A record type number, with names for the ones a resolver looks at.
public struct DNSRecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSRecordType(rawValue: 1)
    public static let cname = DNSRecordType(rawValue: 5)
    public static let aaaa = DNSRecordType(rawValue: 28)
    public static let opt = DNSRecordType(rawValue: 41)

    public var description: String {
        switch self {
        case .a: "A"
        case .cname: "CNAME"
        case .aaaa: "AAAA"
        case .opt: "OPT"
        default: "TYPE\(rawValue)"
        }
    }
}

/// A response code (the header's RCODE).
public struct DNSResponseCode: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let noError = DNSResponseCode(rawValue: 0)
    public static let formatError = DNSResponseCode(rawValue: 1)
    public static let serverFailure = DNSResponseCode(rawValue: 2)
    public static let nameError = DNSResponseCode(rawValue: 3)
    public static let notImplemented = DNSResponseCode(rawValue: 4)
    public static let refused = DNSResponseCode(rawValue: 5)
}

/// A domain name as a list of labels. Compared without regard to ASCII case, as DNS does.
public struct DNSName: Hashable, Sendable, CustomStringConvertible {
    /// The labels, each 1…63 bytes, without the root label.
    public let labels: [[UInt8]]

    public static let maxWireLength = 255

    /// Splits dotted text into labels; one trailing dot is allowed. Empty labels and over-long names are refused.
    public init(_ text: String) throws {
        var body = Substring(text)
        if body.hasSuffix(".") { body = body.dropLast() }
        if body.isEmpty {
            try self.init(labels: [])
            return
        }
        var labels: [[UInt8]] = []
        for part in body.split(separator: ".", omittingEmptySubsequences: false) {
            let bytes = Array(part.utf8)
            guard !bytes.isEmpty else { throw DNSWireError(.badName, at: 0, "empty label in \"\(text)\"") }
            guard bytes.count <= 63 else {
                throw DNSWireError(.badLabel, at: 0, "label longer than 63 bytes in \"\(text)\"")
            }
            labels.append(bytes)
        }
        try self.init(labels: labels)
    }

    public init(labels: [[UInt8]]) throws {
        let wireLength = labels.reduce(1) { $0 + 1 + $1.count }
        guard wireLength <= Self.maxWireLength else {
            throw DNSWireError(.nameTooLong, at: 0, "name of \(wireLength) bytes, more than 255")
        }
        self.labels = labels
    }

    /// Dotted text without the trailing dot; bytes outside printable ASCII, dots and backslashes as `\DDD`.
    public var description: String {
        if labels.isEmpty { return "." }
        return labels.map { label in
            var text = ""
            for byte in label {
                if byte > 0x20 && byte < 0x7f && byte != UInt8(ascii: ".") && byte != UInt8(ascii: "\\") {
                    text.unicodeScalars.append(Unicode.Scalar(byte))
                } else {
                    let digits = String(byte)
                    text += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
                }
            }
            return text
        }.joined(separator: ".")
    }

    private var folded: [[UInt8]] {
        labels.map { $0.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 } }
    }

    public static func == (lhs: DNSName, rhs: DNSName) -> Bool { lhs.folded == rhs.folded }
    public func hash(into hasher: inout Hasher) { hasher.combine(folded) }
}

public struct DNSQuestion: Hashable, Sendable {
    public var name: DNSName
    public var type: DNSRecordType
    /// 1 (IN) for every query this resolver makes.
    public var recordClass: UInt16

    public init(name: DNSName, type: DNSRecordType, recordClass: UInt16 = 1) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
    }
}

/// The data of one resource record: decoded for A, AAAA and CNAME, raw bytes otherwise.
public enum DNSRecordData: Hashable, Sendable {
    case address(IPAddress)
    case cname(DNSName)
    case other([UInt8])
}

public struct DNSRecord: Hashable, Sendable {
    public var name: DNSName
    public var type: DNSRecordType
    public var recordClass: UInt16
    public var ttl: UInt32
    public var data: DNSRecordData

    public init(name: DNSName, type: DNSRecordType, recordClass: UInt16 = 1, ttl: UInt32, data: DNSRecordData) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
        self.ttl = ttl
        self.data = data
    }
}

/// One DNS message: header flags and the four sections.
public struct DNSMessage: Hashable, Sendable {
    public static let headerLength = 12

    public var id: UInt16
    public var isResponse: Bool
    public var opcode: UInt8
    public var isAuthoritative: Bool
    public var isTruncated: Bool
    public var recursionDesired: Bool
    public var recursionAvailable: Bool
    public var responseCode: DNSResponseCode
    public var questions: [DNSQuestion]
    public var answers: [DNSRecord]
    public var authorities: [DNSRecord]
    public var additionals: [DNSRecord]

    public init(
        id: UInt16,
        isResponse: Bool = false,
        opcode: UInt8 = 0,
        isAuthoritative: Bool = false,
        isTruncated: Bool = false,
        recursionDesired: Bool = true,
        recursionAvailable: Bool = false,
        responseCode: DNSResponseCode = .noError,
        questions: [DNSQuestion] = [],
        answers: [DNSRecord] = [],
        authorities: [DNSRecord] = [],
        additionals: [DNSRecord] = []
    ) {
        self.id = id
        self.isResponse = isResponse
        self.opcode = opcode
        self.isAuthoritative = isAuthoritative
        self.isTruncated = isTruncated
        self.recursionDesired = recursionDesired
        self.recursionAvailable = recursionAvailable
        self.responseCode = responseCode
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
    }

    /// A recursive query for one name and type, as a stub resolver sends it.
    public static func query(id: UInt16, name: DNSName, type: DNSRecordType) -> DNSMessage {
        DNSMessage(id: id, questions: [DNSQuestion(name: name, type: type)])
    }

    /// The first two bytes of a datagram, when it has them: enough to tell whether it answers our query.
    public static func peekID(_ bytes: [UInt8]) -> UInt16? {
        guard bytes.count >= 2 else { return nil }
        return UInt16(bytes[0]) << 8 | UInt16(bytes[1])
    }

    /// The TC bit of a datagram, when it has a header.
    public static func peekTruncated(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 3 && bytes[2] & 0x02 != 0
    }

    // MARK: Encoding

    /// The wire form, without compression (a query has one name; responses are encoded only by tests).
    public func encode() throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        func u16(_ v: UInt16) { out.append(UInt8(v >> 8)); out.append(UInt8(v & 0xff)) }
        func u32(_ v: UInt32) { u16(UInt16(v >> 16)); u16(UInt16(v & 0xffff)) }
        func name(_ n: DNSName) {
            for label in n.labels {
                out.append(UInt8(label.count))
                out.append(contentsOf: label)
            }
            out.append(0)
        }
        func count(_ n: Int, _ section: String) throws -> UInt16 {
            guard let value = UInt16(exactly: n) else {
                throw DNSWireError(.badRecordData, at: out.count, "too many \(section) records (\(n))")
            }
            return value
        }
        u16(id)
        var flags: UInt16 = 0
        if isResponse { flags |= 0x8000 }
        flags |= UInt16(opcode & 0x0f) << 11
        if isAuthoritative { flags |= 0x0400 }
        if isTruncated { flags |= 0x0200 }
        if recursionDesired { flags |= 0x0100 }
        if recursionAvailable { flags |= 0x0080 }
        flags |= UInt16(responseCode.rawValue & 0x0f)
        u16(flags)
        u16(try count(questions.count, "question"))
        u16(try count(answers.count, "answer"))
        u16(try count(authorities.count, "authority"))
        u16(try count(additionals.count, "additional"))
        for question in questions {
            name(question.name)
            u16(question.type.rawValue)
            u16(question.recordClass)
        }
        for record in answers + authorities + additionals {
            name(record.name)
            u16(record.type.rawValue)
            u16(record.recordClass)
            u32(record.ttl)
            var data: [UInt8]
            switch record.data {
            case .address(let address): data = address.bytes
            case .cname(let target):
                data = []
                for label in target.labels {
                    data.append(UInt8(label.count))
                    data.append(contentsOf: label)
                }
                data.append(0)
            case .other(let bytes): data = bytes
            }
            u16(try count(data.count, "record data byte"))
            out.append(contentsOf: data)
        }
        return out
    }

    // MARK: Decoding

    /// Reads a whole message. Throws `DNSWireError` saying what and where on any malformed input.
    public init(decoding bytes: [UInt8]) throws {
        var reader = DNSWireReader(bytes)
        guard bytes.count >= Self.headerLength else {
            throw DNSWireError(.truncated, at: bytes.count, "\(bytes.count) bytes, shorter than the 12-byte header")
        }
        let id = try reader.u16()
        let flags = try reader.u16()
        let counts = [try reader.u16(), try reader.u16(), try reader.u16(), try reader.u16()]
        var questions: [DNSQuestion] = []
        for index in 0..<Int(counts[0]) {
            let name = try reader.name(in: "question \(index + 1)")
            let type = try reader.u16()
            let recordClass = try reader.u16()
            questions.append(DNSQuestion(name: name, type: DNSRecordType(rawValue: type), recordClass: recordClass))
        }
        var sections: [[DNSRecord]] = []
        for (section, count) in zip(["answer", "authority", "additional"], counts.dropFirst()) {
            var records: [DNSRecord] = []
            for index in 0..<Int(count) {
                records.append(try reader.record(in: "\(section) \(index + 1)"))
            }
            sections.append(records)
        }
        self.init(
            id: id,
            isResponse: flags & 0x8000 != 0,
            opcode: UInt8(flags >> 11 & 0x0f),
            isAuthoritative: flags & 0x0400 != 0,
            isTruncated: flags & 0x0200 != 0,
            recursionDesired: flags & 0x0100 != 0,
            recursionAvailable: flags & 0x0080 != 0,
            responseCode: DNSResponseCode(rawValue: UInt8(flags & 0x0f)),
            questions: questions,
            answers: sections[0],
            authorities: sections[1],
            additionals: sections[2]
        )
    }

    /// Whether this message is the response to `query`: same ID, a response, and the same single question.
    public func isResponse(to query: DNSMessage) -> Bool {
        isResponse && id == query.id && opcode == query.opcode && questions == query.questions
    }

    /// The addresses of `type` for `name`, following CNAMEs inside the answer section.
    ///
    /// The chain lists each CNAME target in order; a loop or a chain longer than 16 stops the walk.
    public func addresses(for name: DNSName, type: DNSRecordType) -> (chain: [DNSName], records: [(IPAddress, UInt32)]) {
        var current = name
        var chain: [DNSName] = []
        var seen: Set<DNSName> = [name]
        while chain.count < 16 {
            guard let next = answers.lazy.compactMap({ record -> DNSName? in
                guard record.type == .cname, record.name == current, case .cname(let target) = record.data else {
                    return nil
                }
                return target
            }).first, !seen.contains(next)
            else { break }
            chain.append(next)
            seen.insert(next)
            current = next
        }
        let records = answers.compactMap { record -> (IPAddress, UInt32)? in
            guard record.type == type, record.name == current, case .address(let address) = record.data else {
                return nil
            }
            return (address, record.ttl)
        }
        return (chain, records)
    }
}

/// A cursor over a message's bytes; every read checks its bounds first.
struct DNSWireReader {
    let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func u8() throws -> UInt8 {
        guard offset < bytes.count else {
            throw DNSWireError(.truncated, at: offset, "message ends inside a field")
        }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() throws -> UInt16 {
        guard bytes.count - offset >= 2 else {
            throw DNSWireError(.truncated, at: offset, "message ends inside a 16-bit field")
        }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func u32() throws -> UInt32 {
        let high = try u16()
        let low = try u16()
        return UInt32(high) << 16 | UInt32(low)
    }

    mutating func take(_ count: Int) throws -> [UInt8] {
        guard count >= 0, bytes.count - offset >= count else {
            throw DNSWireError(.truncated, at: offset, "\(count) bytes wanted, \(bytes.count - offset) left")
        }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    /// A possibly compressed name at the cursor. Pointers must point strictly backwards, which ends every
    /// chain of them; the 255-byte limit bounds the work as well.
    mutating func name(in context: String) throws -> DNSName {
        var labels: [[UInt8]] = []
        var wireLength = 1
        var position = offset
        // Where the cursor continues after the name: just past the first pointer, or past the root label.
        var resume: Int?
        // Pointers may only go below this, so following them always terminates.
        var limit = offset
        while true {
            guard position < bytes.count else {
                throw DNSWireError(.truncated, at: position, "message ends inside the name of \(context)")
            }
            let length = bytes[position]
            switch length & 0xc0 {
            case 0x00:
                if length == 0 {
                    offset = resume ?? position + 1
                    return try DNSName(labels: labels)
                }
                let start = position + 1
                guard bytes.count - start >= Int(length) else {
                    throw DNSWireError(.truncated, at: position, "label of \(length) bytes runs past the end in \(context)")
                }
                wireLength += 1 + Int(length)
                guard wireLength <= DNSName.maxWireLength else {
                    throw DNSWireError(.nameTooLong, at: position, "name longer than 255 bytes in \(context)")
                }
                labels.append(Array(bytes[start..<start + Int(length)]))
                position = start + Int(length)
            case 0xc0:
                guard bytes.count - position >= 2 else {
                    throw DNSWireError(.truncated, at: position, "message ends inside a compression pointer in \(context)")
                }
                let target = Int(length & 0x3f) << 8 | Int(bytes[position + 1])
                guard target < limit, target < position else {
                    throw DNSWireError(
                        .badPointer, at: position,
                        "compression pointer to \(target) does not point backwards in \(context)")
                }
                if resume == nil { resume = position + 2 }
                limit = target
                position = target
            default:
                throw DNSWireError(.badLabel, at: position, "label type 0x\(String(length, radix: 16)) in \(context)")
            }
        }
    }

    mutating func record(in context: String) throws -> DNSRecord {
        let name = try self.name(in: context)
        let type = DNSRecordType(rawValue: try u16())
        let recordClass = try u16()
        let ttl = try u32()
        let length = Int(try u16())
        let start = offset
        guard bytes.count - start >= length else {
            throw DNSWireError(.truncated, at: start, "record data of \(length) bytes runs past the end in \(context)")
        }
        let data: DNSRecordData
        switch (type, recordClass) {
        case (.a, 1):
            guard length == 4 else {
                throw DNSWireError(.badRecordData, at: start, "A record with \(length) bytes of data in \(context)")
            }
            data = .address(IPAddress(v4Bytes: try take(4)))
        case (.aaaa, 1):
            guard length == 16 else {
                throw DNSWireError(.badRecordData, at: start, "AAAA record with \(length) bytes of data in \(context)")
            }
            data = .address(IPAddress(v6Bytes: try take(16)))
        case (.cname, _):
            let target = try self.name(in: "CNAME data of \(context)")
            guard offset == start + length else {
                throw DNSWireError(
                    .badRecordData, at: start, "CNAME target does not fill its \(length) bytes of data in \(context)")
            }
            data = .cname(target)
        default:
            data = .other(try take(length))
        }
        return DNSRecord(name: name, type: type, recordClass: recordClass, ttl: ttl, data: data)
    }
}
