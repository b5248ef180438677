/// A JSON value read from text that may be cut off, as Run Command cuts a command's output at 2,500 characters:
/// what was complete before the cut is kept. A container cut off holds its complete members; a string, number
/// or literal cut off is dropped, since its end is unknown.
public indirect enum PartialJSON: Hashable, Sendable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    case array([PartialJSON])
    case object([Member])

    public struct Member: Hashable, Sendable {
        public var key: String
        public var value: PartialJSON
    }

    /// The value of `key` in an object (the first such member), or nil.
    public subscript(key: String) -> PartialJSON? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    public var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    public var elements: [PartialJSON]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The value at the start of `text`, and whether the text ended before it did. Nil when the text is not JSON
    /// (a wrong character before the cut) or holds nothing complete.
    public static func read(_ text: Substring) -> (value: PartialJSON, cutOff: Bool)? {
        var reader = Reader(bytes: Array(text.utf8))
        guard let value = reader.value(), !reader.invalid else { return nil }
        return (value, reader.cutOff)
    }

    /// Where `bytes` stop being JSON: "ends early after N bytes" or "not JSON at line L, column C"; nil when the
    /// text is one whole JSON value (perhaps with more after it).
    public static func problem(in bytes: [UInt8]) -> String? {
        var reader = Reader(bytes: bytes)
        _ = reader.value()
        if reader.invalid {
            let before = bytes[..<min(reader.index, bytes.count)]
            let line = before.filter { $0 == 0x0A }.count + 1
            let column = before.count - (before.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0) + 1
            return "not JSON at line \(line), column \(column)"
        }
        if reader.cutOff { return "the JSON ends early, after \(bytes.count) bytes (a cut-off file?)" }
        return nil
    }

    struct Reader {
        let bytes: [UInt8]
        var index = 0
        var cutOff = false
        var invalid = false

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        var atEnd: Bool { index >= bytes.count }

        mutating func skipSpace() {
            while !atEnd, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        /// Nil when cut off (`cutOff`) or not JSON (`invalid`).
        mutating func value() -> PartialJSON? {
            skipSpace()
            guard !atEnd else {
                cutOff = true
                return nil
            }
            switch bytes[index] {
            case UInt8(ascii: "{"): return object()
            case UInt8(ascii: "["): return array()
            case UInt8(ascii: "\""): return string().map(PartialJSON.string)
            case UInt8(ascii: "t"): return literal("true", .bool(true))
            case UInt8(ascii: "f"): return literal("false", .bool(false))
            case UInt8(ascii: "n"): return literal("null", .null)
            default: return number()
            }
        }

        mutating func object() -> PartialJSON? {
            index += 1
            var members: [Member] = []
            while true {
                skipSpace()
                guard !atEnd else {
                    cutOff = true
                    return .object(members)
                }
                switch bytes[index] {
                case UInt8(ascii: "}"):
                    index += 1
                    return .object(members)
                case UInt8(ascii: ","):
                    index += 1
                    continue
                case UInt8(ascii: "\""):
                    guard let key = string() else { return invalid ? nil : .object(members) }
                    skipSpace()
                    guard !atEnd else {
                        cutOff = true
                        return .object(members)
                    }
                    guard bytes[index] == UInt8(ascii: ":") else { return fail() }
                    index += 1
                    guard let value = value() else { return invalid ? nil : .object(members) }
                    members.append(Member(key: key, value: value))
                    if cutOff { return .object(members) }
                default:
                    return fail()
                }
            }
        }

        mutating func array() -> PartialJSON? {
            index += 1
            var elements: [PartialJSON] = []
            while true {
                skipSpace()
                guard !atEnd else {
                    cutOff = true
                    return .array(elements)
                }
                switch bytes[index] {
                case UInt8(ascii: "]"):
                    index += 1
                    return .array(elements)
                case UInt8(ascii: ","):
                    index += 1
                default:
                    guard let element = value() else { return invalid ? nil : .array(elements) }
                    elements.append(element)
                    if cutOff { return .array(elements) }
                }
            }
        }

        mutating func string() -> String? {
            index += 1
            var scalars = String.UnicodeScalarView()
            var run: [UInt8] = []
            func flush() {
                if !run.isEmpty { scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars) }
                run.removeAll(keepingCapacity: true)
            }
            while !atEnd {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    flush()
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    flush()
                    guard !atEnd else { break }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""): scalars.append("\"")
                    case UInt8(ascii: "\\"): scalars.append("\\")
                    case UInt8(ascii: "/"): scalars.append("/")
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        guard let unit = hex4() else { return atEnd ? cutString() : failString() }
                        if (0xD800..<0xDC00).contains(unit) {
                            // A surrogate pair: the low half follows as another \u escape.
                            guard index + 6 <= bytes.count else { return cutString() }
                            guard bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                                return failString()
                            }
                            index += 2
                            guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return failString() }
                            let value = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                            scalars.append(Unicode.Scalar(value) ?? "\u{FFFD}")
                        } else {
                            scalars.append(Unicode.Scalar(UInt32(unit)) ?? "\u{FFFD}")
                        }
                    default:
                        return failString()
                    }
                default:
                    guard byte >= 0x20 else { return failString() }
                    run.append(byte)
                }
            }
            return cutString()
        }

        mutating func hex4() -> UInt16? {
            guard index + 4 <= bytes.count else {
                index = bytes.count
                return nil
            }
            var value: UInt16 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: return nil
                }
                value = value << 4 | UInt16(digit)
                index += 1
            }
            return value
        }

        mutating func number() -> PartialJSON? {
            let start = index
            while !atEnd, "+-0123456789.eE".utf8.contains(bytes[index]) { index += 1 }
            // A number that runs to the end may be missing digits.
            if atEnd {
                cutOff = true
                return nil
            }
            guard index > start, let value = Double(String(decoding: bytes[start..<index], as: UTF8.self)) else {
                return fail()
            }
            return .number(value)
        }

        mutating func literal(_ word: String, _ value: PartialJSON) -> PartialJSON? {
            for byte in word.utf8 {
                guard !atEnd else {
                    cutOff = true
                    return nil
                }
                guard bytes[index] == byte else { return fail() }
                index += 1
            }
            return value
        }

        mutating func fail() -> PartialJSON? {
            invalid = true
            return nil
        }

        mutating func failString() -> String? {
            invalid = true
            return nil
        }

        mutating func cutString() -> String? {
            cutOff = true
            return nil
        }
    }
}
