import ECSVPCCore
import ECSVPCD
import Testing

func dnsBytes(hex: String) -> [UInt8] {
    let digits = Array(hex.filter(\.isHexDigit))
    return stride(from: 0, to: digits.count - 1, by: 2).compactMap { UInt8(String(digits[$0...$0 + 1]), radix: 16) }
}

@Suite("DNS wire codec")
struct DNSMessageTests {
    /// dnsmasq's answer to `alias2.test A`: alias2 → alias → pub, two A records, owner names compressed.
    static let cnameChainAnswer = dnsBytes(hex: """
        f64b 8580 0001 0004 0000 0000 0661 6c69 6173 3204 7465 7374 0000 0100 01c0 0c00
        0500 0100 0000 3c00 0c05 616c 6961 7304 7465 7374 00c0 2900 0500 0100 0000 3c00
        0a03 7075 6204 7465 7374 00c0 4100 0100 0100 0000 3c00 047f c800 02c0 4100 0100
        0100 0000 3c00 047f c800 01
        """)

    @Test("encodes a recursive query byte for byte")
    func encodesQuery() throws {
        let query = DNSMessage.query(id: 0xbeef, name: try DNSName("ecs.us-east-1.amazonaws.com."), type: .aaaa)
        #expect(
            try query.encode()
                == dnsBytes(hex: """
                    beef 0100 0001 0000 0000 0000 0365 6373 0975 732d 6561 7374 2d31 0961 6d61 7a6f 6e61 7773
                    0363 6f6d 0000 1c00 01
                    """))
    }

    @Test("decodes dnsmasq's compressed answer and follows the CNAME chain to the addresses")
    func decodesCNAMEChain() throws {
        let message = try DNSMessage(decoding: Self.cnameChainAnswer)
        #expect(message.id == 0xf64b)
        #expect(message.isResponse && message.isAuthoritative && !message.isTruncated)
        #expect(message.responseCode == .noError)
        #expect(message.answers.count == 4)
        let (chain, records) = message.addresses(for: try DNSName("ALIAS2.test"), type: .a)
        #expect(chain.map(\.description) == ["alias.test", "pub.test"])
        #expect(records.map(\.0) == [IPAddress("127.200.0.2"), IPAddress("127.200.0.1")])
        #expect(records.map(\.1) == [60, 60])
        let query = DNSMessage.query(id: 0xf64b, name: try DNSName("alias2.test"), type: .a)
        #expect(message.isResponse(to: query))
        #expect(!message.isResponse(to: .query(id: 0xf64c, name: try DNSName("alias2.test"), type: .a)))
        #expect(!message.isResponse(to: .query(id: 0xf64b, name: try DNSName("alias2.test"), type: .aaaa)))
        #expect(!message.isResponse(to: .query(id: 0xf64b, name: try DNSName("alias3.test"), type: .a)))
    }

    @Test("a CNAME loop in the answer stops the walk instead of spinning")
    func cnameLoop() throws {
        let a = try DNSName("a.test")
        let b = try DNSName("b.test")
        let message = DNSMessage(
            id: 1, isResponse: true, questions: [DNSQuestion(name: a, type: .a)],
            answers: [
                DNSRecord(name: a, type: .cname, ttl: 5, data: .cname(b)),
                DNSRecord(name: b, type: .cname, ttl: 5, data: .cname(a)),
            ])
        let decoded = try DNSMessage(decoding: try message.encode())
        #expect(decoded == message)
        let (chain, records) = decoded.addresses(for: a, type: .a)
        #expect(chain == [b])
        #expect(records.isEmpty)
    }

    @Test("every truncation of a valid answer throws, never traps")
    func everyTruncationThrows() {
        let bytes = Self.cnameChainAnswer
        for length in 0..<bytes.count {
            #expect(throws: DNSWireError.self) { try DNSMessage(decoding: Array(bytes[..<length])) }
        }
    }

    @Test("a short header is reported as truncated with its length")
    func shortHeader() {
        #expect {
            try DNSMessage(decoding: [0x12, 0x34, 0x81])
        } throws: { error in
            (error as? DNSWireError)?.code == .truncated && "\(error)".contains("12-byte header")
        }
    }

    @Test("compression pointers that loop or point forward are refused")
    func badPointers() {
        // Question name is a pointer to itself (offset 12).
        let selfPointer = dnsBytes(hex: "0001 8180 0001 0000 0000 0000 c00c 0001 0001")
        // Question name "a" then a pointer back to its own start: a two-step loop.
        let loop = dnsBytes(hex: "0001 8180 0001 0000 0000 0000 0161 c00c 0001 0001")
        // A pointer forward, past the end.
        let forward = dnsBytes(hex: "0001 8180 0001 0000 0000 0000 c0ff 0001 0001")
        for bytes in [selfPointer, loop, forward] {
            #expect {
                try DNSMessage(decoding: bytes)
            } throws: { error in
                (error as? DNSWireError)?.code == .badPointer
            }
        }
    }

    @Test("reserved label types, bad record lengths and over-long names are refused with the reason")
    func malformedRecords() throws {
        let reservedLabel = dnsBytes(hex: "0001 8180 0001 0000 0000 0000 4161 0000 0100 01")
        let shortA = dnsBytes(hex: "0001 8180 0001 0001 0000 0000 0161 0000 0100 01 c00c 0001 0001 0000 003c 0003 7f00 00")
        let overrunData = dnsBytes(hex: "0001 8180 0000 0001 0000 0000 00 0010 0001 0000 003c 00ff 00")
        var longName: [UInt8] = []
        for _ in 0..<5 { longName += [63] + Array(repeating: UInt8(ascii: "x"), count: 63) }
        let tooLong = dnsBytes(hex: "0001 8180 0001 0000 0000 0000") + longName + [0, 0, 1, 0, 1]
        let cases: [([UInt8], DNSWireError.Code)] = [
            (reservedLabel, .badLabel), (shortA, .badRecordData), (overrunData, .truncated), (tooLong, .nameTooLong),
        ]
        for (bytes, code) in cases {
            #expect {
                try DNSMessage(decoding: bytes)
            } throws: { error in
                (error as? DNSWireError)?.code == code
            }
        }
    }

    @Test("random garbage and bit flips of real answers throw or decode, never trap")
    func garbage() {
        var generator = SplitMix(seed: 0x5eed)
        for _ in 0..<5000 {
            let length = Int(generator.next() % 300)
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            _ = try? DNSMessage(decoding: bytes)
        }
        for _ in 0..<5000 {
            var bytes = Self.cnameChainAnswer
            let index = Int(generator.next() % UInt64(bytes.count))
            bytes[index] ^= UInt8(truncatingIfNeeded: generator.next() | 1)
            _ = try? DNSMessage(decoding: bytes)
        }
    }

    @Test("names compare without regard to ASCII case and print odd bytes escaped")
    func names() throws {
        #expect(try DNSName("ECS.Example.") == DNSName("ecs.example"))
        #expect(try DNSName(labels: [[0x61, 0x2e, 0x00]]).description == "a\\046\\000")
        #expect(throws: DNSWireError.self) { try DNSName("a..b") }
        #expect(throws: DNSWireError.self) { try DNSName(String(repeating: "x", count: 64) + ".test") }
    }
}

/// A small seeded generator, so a failing garbage case can be replayed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
