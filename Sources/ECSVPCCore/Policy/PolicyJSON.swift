/// A JSON value that remembers where it stood in the text, so that an error in a policy can name its line and
/// column. Foundation's decoders say only "not valid JSON", keep one of two duplicate keys silently and forget
/// positions; a policy author needs to be told where. Strict RFC 8259: no comments, no trailing commas.
public struct PolicyJSONNode: Sendable, Equatable {
    public indirect enum Value: Sendable, Equatable {
        case string(String)
        /// The number's text, as written.
        case number(String)
        case bool(Bool)
        case null
        case array([PolicyJSONNode])
        /// Members in the order written (keys are unique: a duplicate is a syntax error).
        case object([Member])
    }

    public struct Member: Sendable, Equatable {
        public let key: String
        public let keyOffset: Int
        public let value: PolicyJSONNode
    }

    public let value: Value
    /// Byte offset of the value's first byte in the text.
    public let offset: Int

    /// A short name of the value's kind for error messages ("a string", "an array").
    public var kind: String {
        switch value {
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A line and a column, both counted from 1; the column counts characters (Unicode scalars), not bytes.
public struct TextPosition: Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    public let column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// The position of byte `offset` in UTF-8 `bytes` (an offset at the end names the place after the last byte).
    public init(offset: Int, in bytes: [UInt8]) {
        var line = 1
        var column = 1
        for byte in bytes[..<min(offset, bytes.count)] {
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        self.init(line: line, column: column)
    }

    public var description: String { "\(line):\(column)" }
}

/// Why a text is not JSON, and where.
public struct PolicyJSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public let offset: Int

    public var description: String { message }
}

/// Parses UTF-8 bytes into `PolicyJSONNode`s. Nesting is limited (`maxDepth`) so that a hostile input cannot
/// exhaust the stack.
public struct PolicyJSONParser {
    public static let maxDepth = 64

    private let bytes: [UInt8]
    private var index = 0

    public static func parse(_ bytes: [UInt8]) throws(PolicyJSONSyntaxError) -> PolicyJSONNode {
        var parser = PolicyJSONParser(bytes: bytes)
        parser.skipWhitespace()
        guard parser.index < bytes.count else {
            throw PolicyJSONSyntaxError(message: "the policy is empty: expected a JSON object", offset: 0)
        }
        let node = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else {
            throw parser.error("unexpected \(parser.describeCurrent()) after the end of the JSON value")
        }
        return node
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private func error(_ message: String, at offset: Int? = nil) -> PolicyJSONSyntaxError {
        PolicyJSONSyntaxError(message: message, offset: offset ?? index)
    }

    private func describeCurrent() -> String {
        guard index < bytes.count else { return "end of input" }
        let byte = bytes[index]
        if byte >= 0x21 && byte < 0x7F { return "character '\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    private mutating func skipWhitespace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    private mutating func parseValue(depth: Int) throws(PolicyJSONSyntaxError) -> PolicyJSONNode {
        guard depth < Self.maxDepth else { throw error("nested deeper than \(Self.maxDepth) levels") }
        guard index < bytes.count else { throw error("unexpected end of input: expected a value") }
        let start = index
        switch bytes[index] {
        case UInt8(ascii: "{"): return PolicyJSONNode(value: try parseObject(depth: depth), offset: start)
        case UInt8(ascii: "["): return PolicyJSONNode(value: try parseArray(depth: depth), offset: start)
        case UInt8(ascii: "\""): return PolicyJSONNode(value: .string(try parseString()), offset: start)
        case UInt8(ascii: "t"): try parseLiteral("true"); return PolicyJSONNode(value: .bool(true), offset: start)
        case UInt8(ascii: "f"): try parseLiteral("false"); return PolicyJSONNode(value: .bool(false), offset: start)
        case UInt8(ascii: "n"): try parseLiteral("null"); return PolicyJSONNode(value: .null, offset: start)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return PolicyJSONNode(value: .number(try parseNumber()), offset: start)
        default:
            throw error("unexpected \(describeCurrent()): expected a value (object, array, string, number, true, false, null)")
        }
    }

    private mutating func parseLiteral(_ word: String) throws(PolicyJSONSyntaxError) {
        let start = index
        for expected in word.utf8 {
            guard index < bytes.count, bytes[index] == expected else {
                throw error("unexpected \(describeCurrent()): expected '\(word)'", at: index == start ? start : index)
            }
            index += 1
        }
    }

    private mutating func parseObject(depth: Int) throws(PolicyJSONSyntaxError) -> PolicyJSONNode.Value {
        index += 1
        var members: [PolicyJSONNode.Member] = []
        var seen = Set<String>()
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw error("unexpected \(describeCurrent()): expected a key in double quotes")
            }
            let keyOffset = index
            let key = try parseString()
            guard seen.insert(key).inserted else {
                throw error("duplicate key \"\(key)\" in one object", at: keyOffset)
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw error("unexpected \(describeCurrent()): expected ':' after the key \"\(key)\"")
            }
            index += 1
            skipWhitespace()
            let value = try parseValue(depth: depth + 1)
            members.append(PolicyJSONNode.Member(key: key, keyOffset: keyOffset, value: value))
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input: expected ',' or '}'") }
            if bytes[index] == UInt8(ascii: ",") {
                let comma = index
                index += 1
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                    throw error("trailing comma before '}'", at: comma)
                }
                continue
            }
            guard bytes[index] == UInt8(ascii: "}") else {
                throw error("unexpected \(describeCurrent()): expected ',' or '}'")
            }
            index += 1
            return .object(members)
        }
    }

    private mutating func parseArray(depth: Int) throws(PolicyJSONSyntaxError) -> PolicyJSONNode.Value {
        index += 1
        var elements: [PolicyJSONNode] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input: expected ',' or ']'") }
            if bytes[index] == UInt8(ascii: ",") {
                let comma = index
                index += 1
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                    throw error("trailing comma before ']'", at: comma)
                }
                continue
            }
            guard bytes[index] == UInt8(ascii: "]") else {
                throw error("unexpected \(describeCurrent()): expected ',' or ']'")
            }
            index += 1
            return .array(elements)
        }
    }

    private mutating func parseString() throws(PolicyJSONSyntaxError) -> String {
        let start = index
        index += 1
        var scalars = String.UnicodeScalarView()
        var run: [UInt8] = []
        func flush(_ run: inout [UInt8], into scalars: inout String.UnicodeScalarView, at offset: Int)
            throws(PolicyJSONSyntaxError)
        {
            guard !run.isEmpty else { return }
            guard let text = String(validating: run, as: UTF8.self) else {
                throw PolicyJSONSyntaxError(message: "a string that is not valid UTF-8", offset: offset)
            }
            scalars.append(contentsOf: text.unicodeScalars)
            run.removeAll(keepingCapacity: true)
        }
        while true {
            guard index < bytes.count else { throw error("unterminated string (opened here)", at: start) }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                try flush(&run, into: &scalars, at: start)
                index += 1
                return String(scalars)
            case UInt8(ascii: "\\"):
                try flush(&run, into: &scalars, at: start)
                scalars.append(try parseEscape())
            case 0x00..<0x20:
                throw error("a control character (0x\(String(byte, radix: 16, uppercase: true))) inside a string: escape it")
            default:
                run.append(byte)
                index += 1
            }
        }
    }

    private mutating func parseEscape() throws(PolicyJSONSyntaxError) -> Unicode.Scalar {
        let start = index
        index += 1
        guard index < bytes.count else { throw error("unterminated escape", at: start) }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let high = try parseHex4(escapeStart: start)
            if (0xDC00...0xDFFF).contains(high) {
                throw error("a lone low surrogate \\u\(hex(high)) in a string", at: start)
            }
            if (0xD800...0xDBFF).contains(high) {
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                else { throw error("a high surrogate \\u\(hex(high)) not followed by a low one", at: start) }
                index += 2
                let low = try parseHex4(escapeStart: start)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw error("a high surrogate \\u\(hex(high)) not followed by a low one", at: start)
                }
                let value = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                guard let scalar = Unicode.Scalar(value) else { throw error("an invalid escape", at: start) }
                return scalar
            }
            guard let scalar = Unicode.Scalar(high) else { throw error("an invalid escape", at: start) }
            return scalar
        default:
            throw error("an invalid escape '\\\(Character(Unicode.Scalar(byte)))' in a string", at: start)
        }
    }

    private func hex(_ value: UInt32) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - text.count)) + text
    }

    private mutating func parseHex4(escapeStart: Int) throws(PolicyJSONSyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard index < bytes.count else { throw error("unterminated \\u escape", at: escapeStart) }
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("a \\u escape needs four hex digits", at: escapeStart)
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    private mutating func parseNumber() throws(PolicyJSONSyntaxError) -> String {
        let start = index
        func digits(_ parser: inout PolicyJSONParser) -> Int {
            let from = parser.index
            while parser.index < parser.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(parser.bytes[parser.index]) {
                parser.index += 1
            }
            return parser.index - from
        }
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count else { throw error("a number without digits", at: start) }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                throw error("a number with a leading zero", at: start)
            }
        } else if digits(&self) == 0 {
            throw error("a number without digits", at: start)
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits(&self) > 0 else { throw error("a number with no digits after '.'", at: start) }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits(&self) > 0 else { throw error("a number with no digits in its exponent", at: start) }
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }
}
