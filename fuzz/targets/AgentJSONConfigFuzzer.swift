// The agent's ecs.config.json and the user data's ECSAgentConfiguration (AgentJSONConfig), and under them the
// hand-written JSON reader `JSONText` (Sources/ECSVPCD/Agent/ProxyExemption.swift).
// Input: a JSON document. Checks: JSONText agrees with Foundation's JSONDecoder on every document JSONDecoder accepts
// (the same structure, strings and keys), but for raw control characters in strings and commas before a closing
// bracket, which JSONDecoder lets through and Go (RFC 8259) refuses; the config's values are strings of the
// document; of repeated keys Go takes the last, JSONDecoder another (either matches); errors say where (line and
// column).
import ECSVPCCore
import FoundationEssentials

/// Any JSON value as JSONDecoder reads it.
private indirect enum DecodedJSON: Decodable {
    case object([String: DecodedJSON])
    case array([DecodedJSON])
    case string(String)
    case number
    case bool
    case null

    init(from decoder: any Decoder) throws {
        if let object = try? decoder.container(keyedBy: AnyKey.self) {
            var members: [String: DecodedJSON] = [:]
            for key in object.allKeys { members[key.stringValue] = try object.decode(DecodedJSON.self, forKey: key) }
            self = .object(members)
            return
        }
        if var array = try? decoder.unkeyedContainer() {
            var elements: [DecodedJSON] = []
            while !array.isAtEnd { elements.append(try array.decode(DecodedJSON.self)) }
            self = .array(elements)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if (try? single.decode(Bool.self)) != nil {
            self = .bool
        } else if let text = try? single.decode(String.self) {
            self = .string(text)
        } else if (try? single.decode(Double.self)) != nil || (try? single.decode(Decimal.self)) != nil {
            self = .number
        } else {
            // A string JSONDecoder only checks when asked for it (a bad escape), or a number it cannot hold.
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "no JSON value it reads"))
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

private func same(_ ours: JSONText.Value, _ theirs: DecodedJSON) -> Bool {
    switch (ours, theirs) {
    case (.object(let members), .object(let decoded)):
        // Go (and JSONText's users) take the last of repeated keys, JSONDecoder another: one of them must match.
        var values: [String: [JSONText.Value]] = [:]
        for (key, value) in members { values[key, default: []].append(value) }
        return Set(values.keys) == Set(decoded.keys) && values.allSatisfy { key, candidates in
            decoded[key].map { theirs in candidates.contains { same($0, theirs) } } ?? false
        }
    case (.array(let elements), .array(let decoded)):
        return elements.count == decoded.count && zip(elements, decoded).allSatisfy { same($0, $1) }
    case (.string(let a), .string(let b)): return a == b
    case (.number, .number), (.bool, .bool), (.null, .null): return true
    default: return false
    }
}

func fuzzAgentJSONConfig(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    let ours = Result { () throws(JSONText.SyntaxError) -> JSONText.Value in try JSONText.parse(text) }
    if case .failure(let error) = ours {
        let lines = text.utf8.count(where: { $0 == UInt8(ascii: "\n") }) + 1
        precondition((1...lines).contains(error.line) && error.column >= 1, "an error outside the document: \(error)")
    }
    if let theirs = try? JSONDecoder().decode(DecodedJSON.self, from: Data(text.utf8)) {
        switch ours {
        case .success(let value):
            precondition(same(value, theirs), "JSONText reads another document than JSONDecoder")
        case .failure(let error):
            // JSONDecoder lets raw control characters into strings (and then reads escapes around them loosely);
            // RFC 8259 and Go's encoding/json (so the agent) do not, and neither does JSONText. Without them, any
            // refusal is a disagreement.
            let control = text.utf8.contains { $0 < 0x20 && ![0x09, 0x0A, 0x0D].contains($0) }
            precondition(control || error.what == "control character in a string" || readsWithoutTrailingCommas(text),
                         "JSONText refuses what JSONDecoder reads: \(error)")
        }
    }
    // The config is read from that document: a usable config means a document JSONText read (or a blank file), and
    // each value is a string member of it.
    let strings = (try? ours.get()).map(allStrings) ?? []
    if let config = try? AgentJSONConfig.file(text) {
        precondition((try? ours.get()) != nil || text.trimmingWhitespace().isEmpty, "a config from a document that does not parse")
        for value in [config.apiEndpoint, config.awsRegion].compactMap({ $0 }) {
            precondition(strings.contains(value), "a config value that is no string of the document: \(value)")
        }
    }
    if let config = (try? AgentJSONConfig.userData(text)) ?? nil {
        for value in [config.apiEndpoint, config.awsRegion].compactMap({ $0 }) {
            precondition(strings.contains(value), "a user data value that is no string of the document: \(value)")
        }
    }
}

/// JSONDecoder also takes a comma before `}` or `]`, which Go refuses: whether the text without those commas reads.
private func readsWithoutTrailingCommas(_ text: String) -> Bool {
    var bytes = Array(text.utf8)
    var index = 0
    while index < bytes.count {
        if bytes[index] == UInt8(ascii: ",") {
            var next = index + 1
            while next < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[next]) { next += 1 }
            if next < bytes.count, bytes[next] == UInt8(ascii: "}") || bytes[next] == UInt8(ascii: "]") {
                bytes.remove(at: index)
                continue
            }
        }
        index += 1
    }
    return bytes.count < text.utf8.count && (try? JSONText.parse(String(decoding: bytes, as: UTF8.self))) != nil
}

private func allStrings(_ value: JSONText.Value) -> Set<String> {
    switch value {
    case .object(let members): members.reduce(into: Set(members.map(\.0))) { $0.formUnion(allStrings($1.1)) }
    case .array(let elements): elements.reduce(into: []) { $0.formUnion(allStrings($1)) }
    case .string(let text): [text]
    case .number, .bool, .null: []
    }
}
